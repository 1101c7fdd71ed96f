"""Event payload schemas: the contract between services.

Producers dump with these schemas and consumers load with them. Each payload tolerates unknown
fields (a newer producer may add some), and a breaking change gets a new ``.vN`` type instead.
"""

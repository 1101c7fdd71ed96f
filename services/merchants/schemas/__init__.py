"""HTTP request and response schemas of merchants, one module per resource as the views are; the
OpenAPI document is generated from them."""

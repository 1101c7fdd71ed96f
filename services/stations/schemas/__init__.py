"""HTTP request and response schemas of stations, one module per resource as the views are; the
OpenAPI document is generated from them."""

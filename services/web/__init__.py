"""The pages people open in a browser: the H5 join page, the till, the station duty page and the
admin console (docs/web.md). They call the other services' public APIs from the browser, through
the gateway, with the user's own token; this service serves HTML, JS and CSS and reads no database."""

from . import pages

BLUEPRINTS = [pages.blp]

"""Local stand-ins for systems outside UnionHub (WeChat), for development and tests only."""

"""The client's version: the version of the API it speaks (the service's OpenAPI
`info.version`, its `API_VERSION` setting). pyproject.toml repeats it; a test in the
service's suite keeps the three equal."""

__version__ = "1.0"

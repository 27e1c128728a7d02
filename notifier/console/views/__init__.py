"""One module per room of the console; each registers its routes on `blueprint.bp`."""

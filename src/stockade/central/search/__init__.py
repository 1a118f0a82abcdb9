"""The product's search query syntax, parsed and compiled to parameterised SQL."""

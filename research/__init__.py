"""Research code: models, objectives, data, training and evaluation on top of jaxaug."""

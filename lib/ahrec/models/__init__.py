"""The method: unimodal models, the prototype-augmented fusion, ensembles."""

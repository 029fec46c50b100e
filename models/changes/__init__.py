"""Change and release: change requests and their release record (`tables`), the classification rules
(`rules`), what a request is made of (`spec`), when it may run (`windows`) and the services (`service`)."""

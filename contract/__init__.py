"""The client contract as code: the OpenAPI document built from the wire models, the
breaking-change gate against the released baseline, and the typed models for the apps.

Tooling only (like `devstack/`): nothing here is deployed. docs/API.md explains the contract;
`docs/api/openapi.json` is its machine-readable form, built by `make contract`.
"""

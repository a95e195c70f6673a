"""CodeDeploy's pre-traffic (BeforeAllowTraffic) hook for the health function.

Before the `live` alias moves any traffic, the hook invokes the new version directly with the
committed events, checks each answer against the public contract, and reports `Succeeded` or
`Failed` to CodeDeploy exactly once.
"""

"""The PetSage API's CodeDeploy hooks: they decide whether a new version keeps its traffic.

CodeDeploy invokes `pre_traffic` before the `live` alias moves any traffic to a new version, and
`post_traffic` once all of it has moved. Each checks the API's contract (`contract`) and reports
`Succeeded` or `Failed` exactly once (`codedeploy`); a `Failed` rolls `live` back to the previous
version.
"""

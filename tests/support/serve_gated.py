"""Serve the gated test flow as a deployment, as `itss serve` does for the real ones."""

from prefect import serve
from prefect.deployments.runner import EntrypointType

from tests.support.gated_flow import gated_change

if __name__ == "__main__":
    serve(gated_change.to_deployment(name="gated", entrypoint_type=EntrypointType.MODULE_PATH),
          pause_on_shutdown=False, print_starting_message=False)

"""The project's actions run in-process behind Rasa's own dialogue: `python -m bot ask`.

Rasa calls custom actions through `action_endpoint.request(json=…)`. Handing the agent an
endpoint whose `request` runs rasa-sdk's `ActionExecutor` in this process lets the real
processor do everything else (rules, forms, fallbacks, the session start) exactly as in the
running bot: there is no second table of which action follows which intent to drift from
`data/`. Imported lazily: rasa and rasa_sdk load only when an endpoint is made.
"""

from __future__ import annotations

from typing import Any


def in_process_endpoint(package: str = "actions") -> Any:
    """An `EndpointConfig` that runs `package`'s actions in this process instead of over HTTP."""
    from rasa.core.actions.action import ActionExecutionRejection
    from rasa.utils.endpoints import EndpointConfig
    from rasa_sdk.executor import ActionExecutor
    from rasa_sdk.interfaces import ActionExecutionRejection as SdkRejection

    class InProcessActions(EndpointConfig):
        def __init__(self) -> None:
            super().__init__(url=f"in-process://{package}")
            self.executor = ActionExecutor()
            self.executor.register_package(package)

        async def request(self, method: str = "post", subpath: str | None = None,
                          content_type: str | None = "application/json",
                          compress: bool = False, **kwargs: Any) -> Any:
            call = kwargs.get("json") or {}
            try:
                return await self.executor.run(call)
            except SdkRejection as rejection:  # what the server sends back as a 400
                raise ActionExecutionRejection(rejection.action_name,
                                               rejection.message) from rejection

    return InProcessActions()

"""The load benchmark's parts below the operations layer: `load` (the aiohttp driver,
percentiles), `memory` (RSS of a process group), `render` (table, targets, plot,
docs/performance.md), `accuracy` (held-out accuracy, run as a child process). The run itself
starts whole assistants, so it is `bot.ops.bench` (`python -m bot bench`).
"""

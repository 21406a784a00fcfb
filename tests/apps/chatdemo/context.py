"""Request context and the collaborators an engine is built from."""
import time

# Costs of the legacy path, set by --legacy-cpu-ms / --legacy-wait-ms, so that
# a profiler's answer is known in advance.
LEGACY_COST = {"cpu_ms": 0.0, "wait_ms": 0.0}
# what the injected waits really took, by the app's own clock (a loaded machine
# wakes sleepers late): the upper bound of a profiler's honest answer
WAITED = {"ns": 0}


class UserExecutionContext:
    def __init__(self, user_id, run_id, thread_id="t0"):
        self.user_id = user_id
        self.run_id = run_id
        self.thread_id = thread_id


class AgentRegistry:
    """Legacy: the process-wide registry of agent classes."""

    def __init__(self, agents):
        self._agents = dict(agents)

    def get(self, name):
        return self._agents[name]


class AgentWebSocketBridge:
    """Legacy: one bridge shared by every user."""

    def __init__(self):
        self.sent = []

    def send(self, user_id, event, payload):
        self.sent.append((user_id, event, payload))


class AgentRegistryAdapter:
    """Legacy: wraps the process-wide registry for per-user engines."""

    def __init__(self, registry):
        self.registry = registry

    def get(self, name):
        self._scan_registry(LEGACY_COST["cpu_ms"])
        return self.registry.get(name)

    def _scan_registry(self, ms):
        # CPU-heavy on purpose: re-validates every registration
        end = time.perf_counter() + ms / 1000.0
        acc = 0
        while time.perf_counter() < end:
            for i in range(200):
                acc = (acc * 31 + i) % 1000003
        return acc


def legacy_bridge_handshake(bridge, context):
    """Legacy: a blocking round trip to the shared bridge."""
    if LEGACY_COST["wait_ms"]:
        t0 = time.monotonic_ns()
        time.sleep(LEGACY_COST["wait_ms"] / 1000.0)
        WAITED["ns"] += time.monotonic_ns() - t0
    bridge.send(context.user_id, "handshake", {})


class AgentInstanceFactory:
    """Modern: builds agent instances for one user."""

    def __init__(self, registry):
        self.registry = registry

    def create_agent_instance(self, name, context):
        return self.registry.get(name)(context)


class UnifiedWebSocketEmitter:
    """Modern: per-user event emitter in front of the bridge."""

    def __init__(self, bridge, context):
        self.bridge = bridge
        self.context = context

    # every event carries the run it belongs to (run_id), as the frontend
    # groups them by run
    def _send(self, event, payload):
        self.bridge.send(self.context.user_id, event, payload)

    def emit_agent_started(self, agent, run_id=None):
        self._send("agent_started", {"agent": agent})

    def emit_agent_thinking(self, agent, thought, run_id=None):
        self._send("agent_thinking", {"agent": agent, "thought": thought})

    def emit_tool_executing(self, agent, tool, run_id=None):
        self._send("tool_executing", {"agent": agent, "tool": tool})

    def emit_tool_completed(self, agent, tool, result, run_id=None):
        self._send("tool_completed", {"agent": agent, "tool": tool, "result": result})

    def emit_agent_completed(self, agent, result, run_id=None):
        self._send("agent_completed", {"agent": agent, "result": result})

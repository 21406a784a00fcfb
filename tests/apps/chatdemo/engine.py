"""Execution engines: the legacy compatibility bridge and the modern API."""
import asyncio
import warnings

from .context import (AgentInstanceFactory, AgentRegistry, AgentRegistryAdapter,
                      AgentWebSocketBridge, UnifiedWebSocketEmitter, UserExecutionContext,
                      legacy_bridge_handshake)


def _looks_like_registry(obj):
    # duck typing, as the compatibility bridge does it
    return hasattr(obj, "get") and not hasattr(obj, "create_agent_instance")


class UserExecutionEngine:
    """Per-user engine.

    Modern:  UserExecutionEngine(context, agent_factory, websocket_emitter)
             UserExecutionEngine(context=..., agent_factory=..., websocket_emitter=...)
    Legacy:  UserExecutionEngine(registry, websocket_bridge, user_context)
             (deprecated, detected by duck typing)
    """

    def __init__(self, *args, **kwargs):
        if kwargs:
            context = kwargs["context"]
            agent_factory = kwargs["agent_factory"]
            emitter = kwargs["websocket_emitter"]
        elif len(args) == 3 and _looks_like_registry(args[0]):
            warnings.warn(
                "UserExecutionEngine(registry, websocket_bridge, user_context) is deprecated; "
                "use UserExecutionEngine(context, agent_factory, websocket_emitter)",
                DeprecationWarning, stacklevel=2)
            registry, bridge, context = args
            adapter = AgentRegistryAdapter(registry)
            adapter.get("triage")
            legacy_bridge_handshake(bridge, context)
            agent_factory = AgentInstanceFactory(registry)
            emitter = UnifiedWebSocketEmitter(bridge, context)
        else:
            context, agent_factory, emitter = args
        self.context = context
        self.agent_factory = agent_factory
        self.emitter = emitter

    @classmethod
    async def create_from_legacy(cls, registry, websocket_bridge, user_context):
        """Compatibility bridge: still builds the engine the legacy way."""
        await asyncio.sleep(0)
        return cls(registry, websocket_bridge, user_context)

    @classmethod
    async def create_execution_engine(cls, user_context, registry, websocket_bridge):
        """Modern factory."""
        await asyncio.sleep(0)
        factory = AgentInstanceFactory(registry)
        emitter = UnifiedWebSocketEmitter(websocket_bridge, user_context)
        return cls(user_context, factory, emitter)

    def execute_agent(self, agent_name, message, ntools, user_id=None, run_id=None, fault=None):
        """One agent run: agent_started, agent_thinking, (tool_executing,
        tool_completed) per tool, agent_completed.  fault injects a bug:
        "drop" (no agent_thinking), "swap" (thinking before started),
        "never" (no agent_completed)."""
        agent = self.agent_factory.create_agent_instance(agent_name, self.context)
        em = self.emitter
        if fault == "swap":
            em.emit_agent_thinking(agent_name, "planning", run_id=run_id)
            em.emit_agent_started(agent_name, run_id=run_id)
        else:
            em.emit_agent_started(agent_name, run_id=run_id)
            if fault != "drop":
                em.emit_agent_thinking(agent_name, "planning", run_id=run_id)
        result = []
        for tool in agent.plan(message, ntools):
            em.emit_tool_executing(agent_name, tool, run_id=run_id)
            out = agent.run_tool(tool, message)
            em.emit_tool_completed(agent_name, tool, out, run_id=run_id)
            result.append(out)
        if fault != "never":
            em.emit_agent_completed(agent_name, result, run_id=run_id)
        return result

    async def execute_agent_async(self, agent_name, message, ntools, user_id=None, run_id=None,
                                  fault=None):
        await asyncio.sleep(0)
        return self.execute_agent(agent_name, message, ntools, user_id=user_id, run_id=run_id,
                                  fault=fault)


class ExecutionEngine:
    """The consolidated engine that replaces the legacy ExecutionEngine API."""

    def __init__(self, registry, websocket_bridge):
        self.registry = registry
        self.bridge = websocket_bridge

    def for_user(self, context):
        factory = AgentInstanceFactory(self.registry)
        emitter = UnifiedWebSocketEmitter(self.bridge, context)
        return UserExecutionEngine(context, factory, emitter)

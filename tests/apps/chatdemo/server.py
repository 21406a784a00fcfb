"""Request handlers.  Several legacy call sites are still live; each request
kind comes from a known line so that the expected call sites are known."""
import asyncio

from .agents import AGENTS
from .context import (AgentInstanceFactory, AgentRegistry, AgentWebSocketBridge,
                      UnifiedWebSocketEmitter, UserExecutionContext)
from .engine import ExecutionEngine, UserExecutionEngine

REGISTRY = AgentRegistry(AGENTS)
BRIDGE = AgentWebSocketBridge()


def handle_legacy_a(ctx):
    # legacy call site A (a handler nobody migrated)
    return UserExecutionEngine(REGISTRY, BRIDGE, ctx)


def handle_legacy_b(ctx):
    # legacy call site B (an admin tool)
    engine = UserExecutionEngine(REGISTRY, BRIDGE, ctx)
    return engine


def handle_modern_positional(ctx):
    factory = AgentInstanceFactory(REGISTRY)
    emitter = UnifiedWebSocketEmitter(BRIDGE, ctx)
    return UserExecutionEngine(ctx, factory, emitter)


def handle_modern_keyword(ctx):
    factory = AgentInstanceFactory(REGISTRY)
    emitter = UnifiedWebSocketEmitter(BRIDGE, ctx)
    return UserExecutionEngine(context=ctx, agent_factory=factory, websocket_emitter=emitter)


def handle_consolidated(ctx):
    return ExecutionEngine(REGISTRY, BRIDGE).for_user(ctx)


async def build_engine_async(kind, ctx):
    if kind == "legacy_bridge":
        return await UserExecutionEngine.create_from_legacy(REGISTRY, BRIDGE, ctx)
    if kind == "modern_factory":
        return await UserExecutionEngine.create_execution_engine(ctx, REGISTRY, BRIDGE)
    return build_engine_sync(kind, ctx)


SYNC_HANDLERS = {
    "legacy_a": handle_legacy_a,
    "legacy_b": handle_legacy_b,
    "modern_pos": handle_modern_positional,
    "modern_kw": handle_modern_keyword,
    "consolidated": handle_consolidated,
}

ASYNC_KINDS = ("legacy_bridge", "modern_factory")


def build_engine_sync(kind, ctx):
    return SYNC_HANDLERS[kind](ctx)


def run_agent(engine, req):
    out = engine.execute_agent("triage", req["message"], req["ntools"], user_id=req["user"],
                               run_id=req["run"], fault=req.get("fault"))
    if req.get("reuse_user"):
        # the bug: the engine is handed on to another user's request
        engine.execute_agent("triage", req["message"], req["ntools"], user_id=req["reuse_user"],
                             run_id=req["run"] + "-reused")
    return out


def serve_request_thread(req):
    """A request served on a worker thread."""
    ctx = UserExecutionContext(req["user"], req["run"])
    if req["kind"] in ASYNC_KINDS:
        engine = asyncio.run(build_engine_async(req["kind"], ctx))
    else:
        engine = build_engine_sync(req["kind"], ctx)
    return run_agent(engine, req)


async def serve_request_async(req):
    """A request served as an asyncio task."""
    ctx = UserExecutionContext(req["user"], req["run"])
    engine = await build_engine_async(req["kind"], ctx)
    if req.get("reuse_user") or req.get("fault"):
        await asyncio.sleep(0)
        return run_agent(engine, req)
    return await engine.execute_agent_async("triage", req["message"], req["ntools"],
                                            user_id=req["user"], run_id=req["run"])

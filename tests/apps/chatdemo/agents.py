"""Agents and the tools they run."""


def lookup_tool(name, query):
    # a little CPU work so latency is not all probe cost
    acc = 0
    for ch in query:
        acc = (acc * 31 + ord(ch)) % 1000003
    return "%s:%d" % (name, acc)


class TriageAgent:
    name = "triage"

    def __init__(self, context):
        self.context = context

    def plan(self, message, ntools):
        return ["search", "summarize", "lookup"][:ntools]

    def run_tool(self, tool, message):
        return lookup_tool(tool, message)


AGENTS = {"triage": TriageAgent}

"""A small JSON Schema validator (stdlib only) for the subset docs/report-schema.json uses:
type, properties, required, additionalProperties (false), items, enum, const, minimum,
and $ref to "#/$defs/NAME".  Any other keyword in the schema is an error, so the schema
cannot silently use something this does not check."""

KNOWN = {"$schema", "$id", "title", "description", "type", "properties", "required",
         "additionalProperties", "items", "enum", "const", "minimum", "$ref", "$defs"}

TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "null": lambda v: v is None,
}


def _same(a, b):
    # JSON: true is not 1
    return type(a) is type(b) and a == b if isinstance(a, bool) or isinstance(b, bool) else a == b


def validate(doc, schema, root=None, path="$"):
    """Returns a list of error strings (empty when doc is valid)."""
    root = root if root is not None else schema
    errs = []
    unknown = set(schema) - KNOWN
    if unknown:
        return ["%s: schema uses unsupported keywords %s" % (path, sorted(unknown))]
    if "$ref" in schema:
        ref = schema["$ref"]
        if not ref.startswith("#/$defs/") or ref[8:] not in root.get("$defs", {}):
            return ["%s: unresolvable $ref %s" % (path, ref)]
        return validate(doc, root["$defs"][ref[8:]], root, path)
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(TYPES[t](doc) for t in types):
            return ["%s: %r is not of type %s" % (path, doc, "/".join(types))]
    if "const" in schema and not _same(doc, schema["const"]):
        errs.append("%s: %r is not %r" % (path, doc, schema["const"]))
    if "enum" in schema and not any(_same(doc, e) for e in schema["enum"]):
        errs.append("%s: %r is not one of %r" % (path, doc, schema["enum"]))
    if "minimum" in schema and TYPES["number"](doc) and doc < schema["minimum"]:
        errs.append("%s: %r < minimum %r" % (path, doc, schema["minimum"]))
    if isinstance(doc, dict):
        props = schema.get("properties", {})
        for k in schema.get("required", []):
            if k not in doc:
                errs.append("%s: missing required %r" % (path, k))
        for k, v in doc.items():
            if k in props:
                errs += validate(v, props[k], root, "%s.%s" % (path, k))
            elif schema.get("additionalProperties", True) is False:
                errs.append("%s: unexpected property %r" % (path, k))
    if isinstance(doc, list) and "items" in schema:
        for i, v in enumerate(doc):
            errs += validate(v, schema["items"], root, "%s[%d]" % (path, i))
    return errs

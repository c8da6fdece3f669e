"""Reads a GGUF file with llama.cpp's own Python package (`gguf`) and prints
what it finds as JSON: scalar metadata, array lengths, and each tensor's
type, row-major shape and dequantized values. tests/gguf.rs runs it on
restlm's exports (installing `gguf` into ~/.cache/restlm/pylib when absent).

    python3 scripts/read_gguf.py FILE
"""

import json
import sys

import numpy as np
from gguf import GGUFReader, GGUFValueType
from gguf.quants import dequantize

r = GGUFReader(sys.argv[1])
meta = {}
for key, field in r.fields.items():
    if key.startswith("GGUF."):
        continue
    kind = field.types[0]
    if kind == GGUFValueType.ARRAY:
        meta[key] = {"len": len(field.data)}
    elif kind == GGUFValueType.STRING:
        meta[key] = bytes(field.parts[field.data[0]]).decode()
    else:
        meta[key] = field.parts[field.data[0]].tolist()[0]
tensors = {}
for t in r.tensors:
    values = dequantize(t.data, t.tensor_type).astype(np.float32).reshape(-1)
    tensors[t.name] = {
        "type": t.tensor_type.name,
        "shape": [int(d) for d in reversed(t.shape.tolist())],
        "values": [float(x) for x in values],
    }
json.dump({"meta": meta, "tensors": tensors}, sys.stdout)

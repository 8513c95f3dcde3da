"""Minimal safetensors writer/reader (the format: u64 little-endian header length, JSON header, raw data)."""
import json
import struct

import torch

_DTYPES = {torch.float32: ('F32', 4), torch.bfloat16: ('BF16', 2), torch.float16: ('F16', 2)}
_FROM_NAME = {'F32': torch.float32, 'BF16': torch.bfloat16, 'F16': torch.float16}


def save(tensors: dict, path: str, metadata: dict | None = None) -> None:
    header: dict = {}
    if metadata:
        header['__metadata__'] = metadata
    blobs = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        dtype, size = _DTYPES[t.dtype]
        raw = t.view(torch.uint8).numpy().tobytes() if t.numel() else b''
        assert len(raw) == t.numel() * size
        header[name] = {'dtype': dtype, 'shape': list(t.shape), 'data_offsets': [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(',', ':')).encode('utf-8')
    text += b' ' * ((8 - len(text) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def load(path: str) -> dict:
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        a, b = info['data_offsets']
        dtype = _FROM_NAME[info['dtype']]
        out[name] = torch.frombuffer(bytearray(data[a:b]), dtype=torch.uint8).view(dtype).reshape(info['shape']).clone()
    return out

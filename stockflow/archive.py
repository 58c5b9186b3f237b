"""One artifact of several parts: a zip of a JSON manifest and named byte strings.

Its bytes depend on its parts alone (every entry dated 1980, in the order given), so the same model
is the same file: DVC's lock and the registry's checksums hold from one run to the next.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

_DATE = (1980, 1, 1, 0, 0, 0)


def pack(manifest_name: str, manifest: dict[str, Any], parts: dict[str, bytes]) -> bytes:
    """The zip of `manifest` (as `manifest_name`, first) and `parts`, in the order given."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in ((manifest_name, json.dumps(manifest, indent=2, sort_keys=True).encode()), *parts.items()):
            z.writestr(zipfile.ZipInfo(name, date_time=_DATE), data, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def manifest(manifest_name: str, blob: bytes) -> dict[str, Any]:
    """The manifest alone, without reading the other parts."""
    with zipfile.ZipFile(io.BytesIO(blob)) as z:
        return json.loads(z.read(manifest_name))


def unpack(manifest_name: str, blob: bytes) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The manifest and every other part by name."""
    with zipfile.ZipFile(io.BytesIO(blob)) as z:
        parts = {name: z.read(name) for name in z.namelist() if name != manifest_name}
        return json.loads(z.read(manifest_name)), parts

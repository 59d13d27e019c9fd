"""What streaming lint (stream.py) holds a stream in: the spool of every document on disk, and the compact,
shared form of the facts it keeps in memory."""

from __future__ import annotations

import marshal
import pickle
import tempfile
from array import array
from typing import Any, Iterator

from ..documents import Document
from ..errors import ToolkitError


class Spool:
    """Documents written once to an anonymous temporary file, read back in order or by offset.

    Each record is the document's (object, source, index, duplicate keys) in `marshal` form (parsed YAML is
    dicts, lists and scalars: marshal writes and reads them several times faster than pickle, and reading
    back is a fifth of the time of parsing the YAML again); uncompressed, about the size of the YAML. A
    value marshal cannot write (a PyYAML-only type) makes that record a pickle."""

    def __init__(self) -> None:
        try:
            self.file = tempfile.TemporaryFile()
        except OSError as exc:
            raise self._error(exc) from None
        self.offsets = array("Q")  # 8 bytes a document
        self._end = 0

    def put(self, doc: Document) -> int:
        try:
            blob = b"m" + marshal.dumps((doc.obj, doc.source, doc.index, doc.duplicate_keys))
        except ValueError:  # an object of a type marshal does not know
            blob = b"p" + pickle.dumps(doc, pickle.HIGHEST_PROTOCOL)
        at = self._end
        try:
            if self.file.tell() != at:  # a read in order was left unfinished
                self.file.seek(at)
            self.file.write(len(blob).to_bytes(4, "little") + blob)
        except OSError as exc:  # a full disk, most likely
            raise self._error(exc) from None
        self._end += 4 + len(blob)
        self.offsets.append(at)
        return at

    def get(self, at: int) -> Document:
        """The document at offset `at` (the file position is left where it was: a read in order goes on)."""
        back = self.file.tell()
        self.file.seek(at)
        doc = self._next()
        self.file.seek(back)
        return doc

    def _next(self) -> Document:
        read = self.file.read
        blob = read(int.from_bytes(read(4), "little"))
        return pickle.loads(blob[1:]) if blob[:1] == b"p" else Document(*marshal.loads(memoryview(blob)[1:]))

    def __iter__(self) -> Iterator[Document]:
        self.file.seek(0)
        for _ in range(len(self.offsets)):
            yield self._next()
        self.file.seek(self._end)

    def close(self) -> None:
        try:
            self.file.close()
        except OSError:
            pass  # the write that failed is what the user is told about

    @staticmethod
    def _error(exc: OSError) -> ToolkitError:
        return ToolkitError(f"lint keeps the documents of a stream in a temporary file in {tempfile.gettempdir()} "
                            f"and cannot write it ({exc.strerror or exc}); it needs about the size of the stream: "
                            f"free space there or set TMPDIR to a directory with room")


class Compact:
    """Kept facts stored once however often they repeat: equal strings share one object, and so do equal
    lists and mappings below metadata (a release rendered into many namespaces repeats every role's rules,
    every ConfigMap's keys, every schedule; only names and namespaces differ). Memory for the kept kinds
    then grows by little more than one small mapping per document. Rules only read the kept documents."""

    def __init__(self) -> None:
        self.strings: dict[str, str] = {}
        self.nodes: dict[tuple[Any, ...], Any] = {}

    def text(self, value: Any) -> Any:
        return self.strings.setdefault(value, value) if type(value) is str else value

    def meta(self, doc: Document, annotations: tuple[str, ...] | None = ()) -> dict[str, Any]:
        """name, generateName, namespace and the annotations named (None: every annotation)."""
        meta = doc.obj.get("metadata") if isinstance(doc.obj.get("metadata"), dict) else {}
        out = {self.text(k): self.text(v) for k, v in meta.items() if k in ("name", "generateName", "namespace")}
        notes = meta.get("annotations")
        if isinstance(notes, dict) and (annotations is None or annotations):
            out["annotations"] = self.share({k: v for k, v in notes.items() if annotations is None or k in annotations})
        return out

    def share(self, node: Any) -> Any:
        """node with equal subtrees (already seen) replaced by the first one seen."""
        t = type(node)
        if t is str:
            return self.strings.setdefault(node, node)
        if t is dict:
            node = {self.text(k): self.share(v) for k, v in node.items()}
            key: tuple[Any, ...] = (dict, *[(type(k), k, id(v)) for k, v in node.items()])  # 1 == True: typed keys
        elif t is list:
            node = [self.share(v) for v in node]
            key = (list, *map(id, node))
        else:
            return node  # numbers, booleans, null: small, and 1 == 1.0 == True must not merge
        # ids are safe keys: every object they name stays alive inside a stored node
        return self.nodes.setdefault(key, node)

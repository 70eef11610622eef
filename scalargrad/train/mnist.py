"""MNIST handwritten digits: find, download, verify, parse and downsample.

This is the only scalargrad module that imports numpy; the autodiff engine never imports it.

Data layout: a directory holding the four standard files under their canonical names
(``CHECKSUMS``), each either the canonical gzip file (verified by MD5; a copy compressed
again is verified by the MD5 of its content, ``CONTENT_CHECKSUMS``) or, under the name
without ``.gz``, the raw uncompressed IDX file (checked only structurally by the parser).

Arrays: ``read_images`` gives uint8 (n, 28, 28) with pixel values 0..255, ``read_labels``
int64 (n,) with values 0..9, and ``downsample`` / ``load_mnist`` float64 (n, size*size)
with values in [0, 1].

Every problem with the data (missing, corrupt, unreadable, not downloadable) raises
``MnistError`` with a one-line message naming the file.
"""
from __future__ import annotations

import gzip
import hashlib
import math
import os
import stat
import struct
import zlib
from pathlib import Path
from typing import (TYPE_CHECKING, BinaryIO, Callable, Dict, Iterable, Iterator, List, Mapping,
                    Optional, Tuple, Union)

import numpy as np

from ..errors import MnistError
from ..output_file import open_temporary

if TYPE_CHECKING:  # the network's modules are imported when a download needs them (40 ms)
    import http.client

TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
TEST_LABELS = "t10k-labels-idx1-ubyte.gz"

# MD5 of the canonical gzip files (sizes: 9912422, 28881, 1648877 and 4542 bytes).
CHECKSUMS: Dict[str, str] = {
    TRAIN_IMAGES: "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    TRAIN_LABELS: "d53e105ee54ea40749a09fcbcd1e9432",
    TEST_IMAGES: "9fb629c4189551a2d022fa330f9573f3",
    TEST_LABELS: "ec29112dd5afa0611ce80d1b7f02629c",
}
# The same files' content, decompressed: (MD5, size) by the gzip file's MD5. A copy
# compressed again (another gzip level, another tool) holds the same data: it is
# recognised by the MD5 of what it decompresses to.
CONTENT_CHECKSUMS: Dict[str, Tuple[str, int]] = {
    CHECKSUMS[TRAIN_IMAGES]: ("6bbc9ace898e44ae57da46a324031adb", 47040016),
    CHECKSUMS[TRAIN_LABELS]: ("a25bea736e30d166cdddb491f175f624", 60008),
    CHECKSUMS[TEST_IMAGES]: ("2646ac647ad5339dbf082846283269ea", 7840016),
    CHECKSUMS[TEST_LABELS]: ("27ae3e4e09519cfbb04c329615203637", 10008),
}
MAX_FILE_BYTES = 47040016  # the largest MNIST file, uncompressed: larger data are refused

DEFAULT_MIRRORS: Tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

DATA_ENV_VAR = "SCALARGRAD_DATA"
SIZES = (28, 14, 7)
DEFAULT_TIMEOUT = 30.0  # seconds, per network operation

IMAGE_MAGIC = 2051  # unsigned bytes, 3 dimensions
LABEL_MAGIC = 2049  # unsigned bytes, 1 dimension
SIDE = 28
NUM_CLASSES = 10

_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 16
_OFFLINE_HINT = ("this machine seems offline or the mirrors are unreachable; pass --data-dir DIR "
                 f"(or set {DATA_ENV_VAR}) pointing at a folder holding the four MNIST files")

PathLike = Union[str, "os.PathLike[str]"]
Progress = Callable[[str, int, Optional[int]], None]
Split = Tuple[np.ndarray, np.ndarray]


class _MirrorFailed(Exception):
    """One mirror could not deliver a good copy of one file (reason in the message)."""


# ---------------------------------------------------------------- locating files

def resolve_data_dir(data_dir: Optional[PathLike] = None) -> Path:
    """The data directory: ``data_dir`` if given, else $SCALARGRAD_DATA, else ./data/mnist."""
    chosen = data_dir or os.environ.get(DATA_ENV_VAR)
    if chosen:
        return Path(chosen).expanduser()
    return Path.cwd() / "data" / "mnist"


def data_paths(data_dir: Optional[PathLike] = None) -> List[Path]:
    """Every path the data may be read from in the data directory (resolve_data_dir):
    each file's gzip and uncompressed names."""
    directory = resolve_data_dir(data_dir)
    return [directory / name for gzipped in CHECKSUMS for name in (gzipped, _raw_name(gzipped))]


def file_md5(path: PathLike) -> str:
    """Hex MD5 digest of a file's bytes."""
    digest = hashlib.md5()
    try:
        with open(path, "rb") as stream:
            for chunk in iter(lambda: stream.read(_CHUNK), b""):
                digest.update(chunk)
    except OSError as exc:
        raise MnistError(f"{path}: cannot read: {_reason(exc)}") from exc
    return digest.hexdigest()


def _raw_name(name: str) -> str:
    return name[:-len(".gz")] if name.endswith(".gz") else name


def _kind(path: Path) -> str:
    """"file" (a regular file), "folder", "missing" or "other" (a device, a pipe...);
    MnistError if the folder holding it cannot be searched (permissions)."""
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return "missing"
    except OSError as exc:
        raise MnistError(f"{path}: cannot read: {_reason(exc)}") from exc
    return "file" if stat.S_ISREG(mode) else "folder" if stat.S_ISDIR(mode) else "other"


def _content_md5(path: Path, size: int) -> Optional[str]:
    """The MD5 of what the gzip file decompresses to, if that is ``size`` bytes (None if
    it is not gzip data, is corrupt, or decompresses to another size)."""
    digest = hashlib.md5()
    done = 0
    try:
        with gzip.open(path, "rb") as stream:
            for chunk in iter(lambda: stream.read(_CHUNK), b""):
                done += len(chunk)
                if done > size:
                    return None
                digest.update(chunk)
    except (EOFError, zlib.error, OSError):  # gzip.BadGzipFile is an OSError
        return None
    return digest.hexdigest() if done == size else None


def _verified(packed: Path, md5: str) -> bool:
    """The gzip file is the canonical one: its MD5, or (compressed again) its content's."""
    if file_md5(packed) == md5:
        return True
    content = CONTENT_CHECKSUMS.get(md5)
    return content is not None and _content_md5(packed, content[1]) == content[0]


def _usable_copy(directory: Path, name: str, md5: str) -> Optional[Path]:
    """The verified gzip file, else the raw uncompressed file, else None; MnistError if a
    folder (or a device) stands where a file should, with no usable copy beside it."""
    packed = directory / name
    packed_kind = _kind(packed)
    if packed_kind == "file" and _verified(packed, md5):
        return packed
    raw = directory / _raw_name(name)
    raw_kind = _kind(raw)
    if raw_kind == "file":
        return raw
    for path, kind in ((packed, packed_kind), (raw, raw_kind)):
        if kind in ("folder", "other"):
            what = "a folder" if kind == "folder" else "not a regular file"
            raise MnistError(f"{path} is {what}, where the MNIST file {path.name} should be: "
                             "remove it, or pass --data-dir DIR pointing at the four files")
    return None


def locate_files(data_dir: PathLike, checksums: Mapping[str, str] = CHECKSUMS) -> Dict[str, Path]:
    """Map each canonical file name to the usable file in ``data_dir``; never downloads.

    Raises MnistError if a file is missing or its gzip copy fails the checksum.
    """
    directory = Path(data_dir)
    found = {}
    for name, md5 in checksums.items():
        path = _usable_copy(directory, name, md5)
        if path is None:
            raise MnistError(_unusable_message(directory / name, md5))
        found[name] = path
    return found


def _unusable_message(packed: Path, md5: str) -> str:
    if _kind(packed) == "file":
        return f"{packed}: corrupt: md5 is {file_md5(packed)}, expected {md5}"
    return (f"{packed}: missing (and no uncompressed {_raw_name(packed.name)} either); "
            f"pass --data-dir DIR (or set {DATA_ENV_VAR}) pointing at a folder holding the "
            "four MNIST files, or allow the download")


# ---------------------------------------------------------------- downloading

def ensure_files(data_dir: Optional[PathLike] = None, mirrors: Iterable[str] = DEFAULT_MIRRORS,
                 progress: Optional[Progress] = None, *, checksums: Mapping[str, str] = CHECKSUMS,
                 timeout: float = DEFAULT_TIMEOUT) -> Path:
    """Make sure the data directory holds a usable copy of every file; return the directory.

    A file that is missing, or whose gzip copy fails its checksum, is downloaded from the
    mirrors in turn into a temporary file in the same directory, which replaces the target only
    once its MD5 matches; nothing partial is ever left behind. ``progress(name, done, total)``
    (total None if unknown) is called as bytes arrive; a retry from the next mirror starts
    again from 0. ``checksums`` maps file names to MD5s (the canonical table by default).
    """
    directory = resolve_data_dir(data_dir)
    _ensure(directory, mirrors, progress, checksums, timeout)
    return directory


def _ensure(directory: Path, mirrors: Iterable[str], progress: Optional[Progress],
            checksums: Mapping[str, str], timeout: float) -> Dict[str, Path]:
    """ensure_files' work; returns the usable file for each name, as locate_files would,
    without hashing the files a second time."""
    if _kind(directory) not in ("folder", "missing"):
        raise MnistError(f"{directory} is not a folder: the MNIST files go in a folder")
    mirror_list = list(mirrors)
    found = {}
    for name, md5 in checksums.items():
        path = _usable_copy(directory, name, md5)
        if path is None:
            _download(directory, name, md5, mirror_list, progress, timeout)
            path = directory / name  # in place only once its MD5 matched
        found[name] = path
    return found


def _download(directory: Path, name: str, md5: str, mirrors: Iterable[str],
              progress: Optional[Progress], timeout: float) -> None:
    """Fetch ``name`` from the first mirror that delivers it intact, or raise MnistError."""
    target = directory / name
    was_corrupt = target.is_file()
    failures = []
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for mirror in mirrors:
            url = mirror.rstrip("/") + "/" + name
            try:
                _fetch_into_place(url, target, md5, progress, timeout)
                return
            except _MirrorFailed as exc:
                failures.append(f"{url}: {exc}")
    except OSError as exc:  # network errors arrive as _MirrorFailed, so this one is local
        raise MnistError(f"{target}: cannot write the download: {_reason(exc)}") from exc
    tried = "; ".join(failures) or "no mirrors given"
    if was_corrupt:
        raise MnistError(f"{target}: corrupt (md5 mismatch) and a fresh download failed "
                         f"({tried}); {_OFFLINE_HINT}")
    raise MnistError(f"{target}: download failed ({tried}); {_OFFLINE_HINT}")


def _fetch_into_place(url: str, target: Path, md5: str, progress: Optional[Progress],
                      timeout: float) -> None:
    """Stream ``url`` into a temporary file next to ``target`` (output_file's, which the
    next download removes if this one is killed); move it there if the MD5 matches."""
    handle, temp = open_temporary(target)  # (removing what a killed download left)
    try:
        with os.fdopen(handle, "wb") as out:
            got = _stream(url, out, target.name, progress, timeout)
        if got != md5:
            raise _MirrorFailed(f"checksum mismatch (got md5 {got})")
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)


def _stream(url: str, out: BinaryIO, name: str, progress: Optional[Progress],
            timeout: float) -> str:
    """Copy the body of ``url`` into ``out``, reporting progress; return its hex MD5."""
    digest = hashlib.md5()
    done = 0
    with _open(url, timeout) as response:
        total = _content_length(response)
        if progress is not None:
            progress(name, 0, total)
        for chunk in _chunks(response):
            out.write(chunk)
            digest.update(chunk)
            done += len(chunk)
            if progress is not None:
                progress(name, done, total)
    if total is not None and done != total:
        raise _MirrorFailed(f"truncated: got {done} of {total} bytes")
    return digest.hexdigest()


def _open(url: str, timeout: float) -> http.client.HTTPResponse:
    import http.client
    import urllib.request
    try:
        request = urllib.request.Request(url, headers={"User-Agent": "scalargrad-mnist"})
        return urllib.request.urlopen(request, timeout=timeout)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise _MirrorFailed(_network_reason(exc)) from exc


def _chunks(response: http.client.HTTPResponse) -> Iterator[bytes]:
    """The response body in chunks; network failures become _MirrorFailed."""
    import http.client
    while True:
        try:
            chunk = response.read(_CHUNK)
        except (OSError, http.client.HTTPException) as exc:
            raise _MirrorFailed(_network_reason(exc)) from exc
        if not chunk:
            return
        yield chunk


def _content_length(response: http.client.HTTPResponse) -> Optional[int]:
    value = response.headers.get("Content-Length", "")
    return int(value) if value.isdigit() else None


def _network_reason(exc: BaseException) -> str:
    """A short one-line description of a network error."""
    import urllib.error
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    return _reason(exc.reason if isinstance(exc, urllib.error.URLError) else exc)


def _reason(exc: object) -> str:
    """A short one-line description of a file error (or any other)."""
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return " ".join(text.split())


# ---------------------------------------------------------------- parsing

def _read_bytes(path: Path) -> bytes:
    """The file's content, gunzipped if it starts with the gzip magic bytes; MnistError
    for content larger than any MNIST file (MAX_FILE_BYTES), compressed or not."""
    too_large = f"{path}: more than {MAX_FILE_BYTES:,} bytes, larger than any MNIST file"
    try:
        with open(path, "rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise MnistError(f"{path}: cannot read: {_reason(exc)}") from exc
    if not data.startswith(_GZIP_MAGIC):
        if len(data) > MAX_FILE_BYTES:
            raise MnistError(too_large)
        return data
    try:
        with gzip.open(path, "rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except (EOFError, zlib.error, OSError) as exc:  # gzip.BadGzipFile is an OSError
        raise MnistError(f"{path}: corrupt gzip data: {_reason(exc)}") from exc
    if len(data) > MAX_FILE_BYTES:
        raise MnistError(f"{too_large} when decompressed")
    return data


def _parse_idx(path: Path, data: bytes, magic: int, item_shape: Tuple[int, ...],
               what: str, unit: str) -> np.ndarray:
    """Check an unsigned-byte IDX buffer against the expected header; return its array view."""
    ndim = 1 + len(item_shape)
    header = 4 + 4 * ndim
    found = int.from_bytes(data[:4], "big")
    if len(data) >= 4 and found != magic:
        raise MnistError(f"{path}: wrong magic number {found} (expected {magic} for {what})")
    if len(data) < header:
        raise MnistError(f"{path}: truncated: {len(data)} bytes, too short for the "
                         f"{header}-byte IDX header")
    dims = struct.unpack_from(f">{ndim}I", data, 4)
    if dims[1:] != item_shape:
        raise MnistError(f"{path}: {what} are {_shape_text(dims[1:])}, expected "
                         f"{_shape_text(item_shape)}")
    expected = math.prod(dims)
    present = len(data) - header
    if present < expected:
        raise MnistError(f"{path}: truncated: header says {_shape_text(dims)} {what} but only "
                         f"{present} bytes of {unit} follow")
    if present > expected:
        raise MnistError(f"{path}: {present - expected} extra bytes after the "
                         f"{_shape_text(dims)} {what} the header announces")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def _shape_text(dims: Tuple[int, ...]) -> str:
    return "x".join(str(d) for d in dims)


def read_images(path: PathLike) -> np.ndarray:
    """Images of an IDX image file (gzip or raw): read-only uint8 array (n, 28, 28), 0..255."""
    path = Path(path)
    return _parse_idx(path, _read_bytes(path), IMAGE_MAGIC, (SIDE, SIDE), "images", "pixels")


def read_labels(path: PathLike) -> np.ndarray:
    """Labels of an IDX label file (gzip or raw): int64 array (n,), values 0..9."""
    path = Path(path)
    labels = _parse_idx(path, _read_bytes(path), LABEL_MAGIC, (), "labels", "labels")
    bad = np.flatnonzero(labels >= NUM_CLASSES)
    if bad.size:
        raise MnistError(f"{path}: label {labels[bad[0]]} at index {bad[0]} is outside "
                         f"0..{NUM_CLASSES - 1} ({bad.size} bad labels in all)")
    return labels.astype(np.int64)


def read_split(images_path: PathLike, labels_path: PathLike) -> Split:
    """Images and labels of one split; raises MnistError if their counts differ."""
    images = read_images(images_path)
    labels = read_labels(labels_path)
    if len(images) != len(labels):
        raise MnistError(f"{labels_path}: holds {len(labels)} labels but {images_path} holds "
                         f"{len(images)} images")
    return images, labels


# ---------------------------------------------------------------- preprocessing

def _check_size(size: int) -> None:
    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(map(str, SIZES))}, got {size!r}")


def downsample(images: np.ndarray, size: int) -> np.ndarray:
    """Block-average (n, 28, 28) images (0..255) to size x size, scaled to [0, 1].

    size 28 keeps every pixel, 14 averages 2x2 blocks, 7 averages 4x4 blocks. Returns a
    float64 array (n, size*size), each row the image flattened row by row.
    """
    _check_size(size)
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1:] != (SIDE, SIDE):
        raise ValueError(f"expected images of shape (n, {SIDE}, {SIDE}), got {images.shape}")
    block = SIDE // int(size)
    blocks = images.reshape(len(images), size, block, size, block)
    sums = blocks.sum(axis=(2, 4), dtype=np.float64)
    return (sums / (block * block * 255.0)).reshape(len(images), size * size)


def load_mnist(data_dir: Optional[PathLike] = None, size: int = 7, download: bool = True,
               progress: Optional[Progress] = None) -> Tuple[Split, Split]:
    """((x_train, y_train), (x_test, y_test)) ready for training.

    x: float64 (n, size*size) in [0, 1]; y: int64 (n,) in 0..9; 60000 train and 10000 test
    examples. The directory is resolved by ``resolve_data_dir``; missing or corrupt files are
    downloaded when ``download`` is true (``progress`` as in ``ensure_files``).
    """
    _check_size(size)
    directory = resolve_data_dir(data_dir)
    if download:
        paths = _ensure(directory, DEFAULT_MIRRORS, progress, CHECKSUMS, DEFAULT_TIMEOUT)
    else:
        paths = locate_files(directory)
    splits = []
    for images_name, labels_name in ((TRAIN_IMAGES, TRAIN_LABELS), (TEST_IMAGES, TEST_LABELS)):
        images, labels = read_split(paths[images_name], paths[labels_name])
        splits.append((downsample(images, size), labels))
    return splits[0], splits[1]

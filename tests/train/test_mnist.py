"""The MNIST pipeline: IDX parsing, downsampling, downloading (from a local HTTP server) and
an end-to-end load of the real files in the repository's sibling folder shared/mnist."""
import gzip
import hashlib
import http.server
import os
import socket
import struct
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest

from scalargrad.train.mnist import (CHECKSUMS, CONTENT_CHECKSUMS, DEFAULT_MIRRORS, TEST_IMAGES, TEST_LABELS,
                              TRAIN_IMAGES, TRAIN_LABELS, MnistError, downsample, ensure_files,
                              file_md5, load_mnist, locate_files, read_images, read_labels,
                              read_split, resolve_data_dir)

SHARED_MNIST = Path(__file__).resolve().parents[3] / "shared" / "mnist"


# ---------------------------------------------------------------- helpers

def idx_bytes(magic, dims, body):
    return struct.pack(f">I{len(dims)}I", magic, *dims) + bytes(body)


def image_file(images):
    images = np.asarray(images, dtype=np.uint8)
    return idx_bytes(2051, images.shape, images.tobytes())


def label_file(labels):
    labels = np.asarray(labels, dtype=np.uint8)
    return idx_bytes(2049, labels.shape, labels.tobytes())


def write(path, data, compress=False):
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def md5(data):
    return hashlib.md5(data).hexdigest()


def sample_images(n, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(n, 28, 28), dtype=np.uint8)


def assert_one_line_naming(excinfo, path):
    message = str(excinfo.value)
    assert "\n" not in message
    assert str(path) in message


# ---------------------------------------------------------------- parsing

@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
def test_reads_images_and_labels(tmp_path, compress):
    images = sample_images(3)
    labels = [7, 0, 9]
    images_path = write(tmp_path / "images", image_file(images), compress)
    labels_path = write(tmp_path / "labels", label_file(labels), compress)
    got_images, got_labels = read_split(images_path, labels_path)
    assert got_images.dtype == np.uint8 and got_images.shape == (3, 28, 28)
    assert np.array_equal(got_images, images)
    assert got_labels.dtype == np.int64 and got_labels.tolist() == labels


def test_format_is_detected_by_content_not_name(tmp_path):
    images = sample_images(2)
    raw_named_gz = write(tmp_path / "raw.gz", image_file(images))
    gzip_named_raw = write(tmp_path / "packed-idx3-ubyte", image_file(images), compress=True)
    assert np.array_equal(read_images(raw_named_gz), images)
    assert np.array_equal(read_images(gzip_named_raw), images)


def test_empty_split_is_valid(tmp_path):
    images, labels = read_split(write(tmp_path / "i", image_file(np.zeros((0, 28, 28)))),
                                write(tmp_path / "l", label_file([])))
    assert images.shape == (0, 28, 28) and labels.shape == (0,)


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
def test_wrong_magic(tmp_path, compress):
    path = write(tmp_path / "labels-as-images", label_file([1, 2]), compress)
    with pytest.raises(MnistError, match="wrong magic number 2049 .expected 2051") as excinfo:
        read_images(path)
    assert_one_line_naming(excinfo, path)
    path = write(tmp_path / "images-as-labels", image_file(sample_images(1)), compress)
    with pytest.raises(MnistError, match="wrong magic number 2051 .expected 2049"):
        read_labels(path)


def test_wrong_image_dimensions(tmp_path):
    path = write(tmp_path / "images", idx_bytes(2051, (1, 27, 28), bytes(27 * 28)))
    with pytest.raises(MnistError, match="images are 27x28, expected 28x28") as excinfo:
        read_images(path)
    assert_one_line_naming(excinfo, path)


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
def test_truncated_data(tmp_path, compress):
    data = image_file(sample_images(2))
    path = write(tmp_path / "images", data[:-1], compress)
    with pytest.raises(MnistError) as excinfo:
        read_images(path)
    assert str(excinfo.value) == (f"{path}: truncated: header says 2x28x28 images but only "
                                  f"{2 * 784 - 1} bytes of pixels follow")
    path = write(tmp_path / "labels", label_file([1, 2, 3])[:-2], compress)
    with pytest.raises(MnistError, match="truncated: header says 3 labels but only 1 bytes"):
        read_labels(path)


@pytest.mark.parametrize("length", [0, 3, 15])
def test_truncated_header(tmp_path, length):
    path = write(tmp_path / "images", image_file(sample_images(1))[:length])
    with pytest.raises(MnistError, match="truncated: .* too short for the 16-byte IDX header"):
        read_images(path)


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
def test_extra_bytes(tmp_path, compress):
    path = write(tmp_path / "images", image_file(sample_images(2)) + b"\0\0\0", compress)
    with pytest.raises(MnistError, match="3 extra bytes after the 2x28x28 images") as excinfo:
        read_images(path)
    assert_one_line_naming(excinfo, path)
    path = write(tmp_path / "labels", label_file([1, 2]) + b"\1", compress)
    with pytest.raises(MnistError, match="1 extra bytes after the 2 labels"):
        read_labels(path)


@pytest.mark.parametrize("bad", [10, 255])
def test_label_out_of_range(tmp_path, bad):
    path = write(tmp_path / "labels", label_file([0, 9, bad, 3, bad]))
    with pytest.raises(MnistError, match=rf"label {bad} at index 2 is outside 0\.\.9 \(2 bad") \
            as excinfo:
        read_labels(path)
    assert_one_line_naming(excinfo, path)


def test_count_mismatch_between_images_and_labels(tmp_path):
    images_path = write(tmp_path / "images", image_file(sample_images(3)))
    labels_path = write(tmp_path / "labels", label_file([1, 2]))
    with pytest.raises(MnistError, match="holds 2 labels but .* holds 3 images") as excinfo:
        read_split(images_path, labels_path)
    assert_one_line_naming(excinfo, images_path)
    assert_one_line_naming(excinfo, labels_path)


def corrupt_gzip_variants():
    packed = gzip.compress(image_file(sample_images(2)))
    flipped = bytearray(packed)
    flipped[len(packed) // 2] ^= 0xFF
    bad_crc = bytearray(packed)
    bad_crc[-8] ^= 0xFF
    return {
        "cut-short": packed[: len(packed) // 2],             # EOFError
        "flipped-byte": bytes(flipped),                       # zlib.error or CRC mismatch
        "bad-crc": bytes(bad_crc),                            # gzip.BadGzipFile
        "bad-header": b"\x1f\x8b\x09" + packed[3:],           # unknown compression method
        "bad-deflate": packed[:10] + b"\xff" + packed[11:],  # reserved block type: zlib.error
        "magic-only": b"\x1f\x8b",
        "trailing-garbage": packed + b"garbage",
    }


@pytest.mark.parametrize("variant", sorted(corrupt_gzip_variants()))
def test_corrupt_gzip(tmp_path, variant):
    path = write(tmp_path / "train-images-idx3-ubyte.gz", corrupt_gzip_variants()[variant])
    with pytest.raises(MnistError, match="corrupt gzip data") as excinfo:
        read_images(path)
    assert_one_line_naming(excinfo, path)


def test_unreadable_file(tmp_path):
    path = tmp_path / "nowhere"
    with pytest.raises(MnistError, match="cannot read") as excinfo:
        read_labels(path)
    assert_one_line_naming(excinfo, path)


# ---------------------------------------------------------------- downsampling

def test_downsample_rows_pattern_by_hand():
    # pixel (r, c) = 9 r: a 2x2 block starting at row 2R averages 9 (2R + 1/2) = 18 R + 4.5,
    # a 4x4 block starting at row 4R averages 9 (4R + 3/2) = 36 R + 13.5.
    image = np.repeat((9 * np.arange(28, dtype=np.uint8))[:, None], 28, axis=1)
    small = downsample(image[None], 7)[0].reshape(7, 7)
    medium = downsample(image[None], 14)[0].reshape(14, 14)
    for row in range(7):
        assert small[row].tolist() == pytest.approx([(36 * row + 13.5) / 255] * 7, abs=1e-15)
    for row in range(14):
        assert medium[row].tolist() == pytest.approx([(18 * row + 4.5) / 255] * 14, abs=1e-15)


def test_downsample_single_pixels_and_checkerboard():
    image = np.zeros((28, 28), dtype=np.uint8)
    image[0, 0] = 255       # one quarter of the first 2x2 block, a sixteenth of the first 4x4
    image[27, 26] = 51      # in the last block of both sizes
    small = downsample(image[None], 7)[0]
    medium = downsample(image[None], 14)[0]
    assert small[0] == pytest.approx(1 / 16) and small[48] == pytest.approx(51 / 255 / 16)
    assert medium[0] == pytest.approx(1 / 4) and medium[195] == pytest.approx(51 / 255 / 4)
    assert np.count_nonzero(small) == 2 and np.count_nonzero(medium) == 2

    rows, cols = np.indices((28, 28))
    board = np.where((rows // 4 + cols // 4) % 2 == 0, 255, 0).astype(np.uint8)
    expected = [float((r + c) % 2 == 0) for r in range(7) for c in range(7)]
    assert downsample(board[None], 7)[0].tolist() == expected


@pytest.mark.parametrize("size", [28, 14, 7])
def test_downsample_shapes_and_range(size):
    images = sample_images(5, seed=size)
    images[0] = 0
    images[1] = 255
    out = downsample(images, size)
    assert out.shape == (5, size * size) and out.dtype == np.float64
    assert out.min() >= 0 and out.max() <= 1
    assert np.all(out[0] == 0) and np.all(out[1] == 1)
    block = 28 // size
    means = images.reshape(5, size, block, size, block).mean(axis=(2, 4)) / 255
    assert np.allclose(out, means.reshape(5, -1), rtol=0, atol=1e-12)
    if size == 28:
        assert np.array_equal(out, images.reshape(5, 784) / 255)


@pytest.mark.parametrize("size", [0, 1, 4, 13, 21, 56, -7, "7", None])
def test_downsample_rejects_other_sizes(size):
    with pytest.raises(ValueError, match="size must be one of 28, 14, 7"):
        downsample(sample_images(1), size)


def test_downsample_rejects_wrong_shape():
    with pytest.raises(ValueError, match="shape"):
        downsample(np.zeros((2, 28, 27)), 7)


def test_load_mnist_rejects_bad_size_before_touching_files(tmp_path):
    with pytest.raises(ValueError):
        load_mnist(tmp_path / "absent", size=10, download=False)


# ---------------------------------------------------------------- where files come from

def test_resolve_data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("SCALARGRAD_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    assert resolve_data_dir(None) == tmp_path / "data" / "mnist"
    monkeypatch.setenv("SCALARGRAD_DATA", str(tmp_path / "env"))
    assert resolve_data_dir(None) == tmp_path / "env"
    assert resolve_data_dir(str(tmp_path / "given")) == tmp_path / "given"
    assert resolve_data_dir(tmp_path / "given") == tmp_path / "given"


# ---------------------------------------------------------------- downloading

def synthetic_set():
    """Four small files in MNIST format under the canonical names: name -> gzip bytes."""
    train, test = sample_images(4, seed=1), sample_images(2, seed=2)
    return {
        TRAIN_IMAGES: gzip.compress(image_file(train)),
        TRAIN_LABELS: gzip.compress(label_file([5, 0, 4, 1])),
        TEST_IMAGES: gzip.compress(image_file(test)),
        TEST_LABELS: gzip.compress(label_file([7, 2])),
    }


GOOD = synthetic_set()
GOOD_SUMS = {name: md5(data) for name, data in GOOD.items()}


class MirrorHandler(http.server.BaseHTTPRequestHandler):
    """Serves /<kind>/<file name>; kind says how the file comes out."""

    def do_GET(self):
        self.server.requests.append(self.path)
        _, kind, name = self.path.split("/", 2)
        good = GOOD.get(name)
        if good is None or kind == "missing":
            self.send_error(404)
            return
        body = {"good": good, "truncated": good[: len(good) // 2],
                "wrong": gzip.compress(b"not mnist"), "cut": good[: len(good) // 2]}[kind]
        self.send_response(200)
        self.send_header("Content-Length", str(len(good) if kind == "cut" else len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), MirrorHandler)
    httpd.daemon_threads = True
    httpd.requests = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def mirror(server, kind):
    return f"http://127.0.0.1:{server.server_address[1]}/{kind}/"


@pytest.fixture(scope="module")
def closed_port_mirror():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/mnist/"


def listing(directory):
    return sorted(os.listdir(directory))


def fetch(directory, mirrors, **kwargs):
    return ensure_files(directory, mirrors, checksums=GOOD_SUMS, timeout=5, **kwargs)


def test_download_good_files(tmp_path, server):
    seen = []
    directory = tmp_path / "new" / "mnist"
    assert fetch(directory, [mirror(server, "good")], progress=lambda *a: seen.append(a)) \
        == directory
    assert listing(directory) == sorted(GOOD)
    for name, data in GOOD.items():
        assert (directory / name).read_bytes() == data
        reports = [(done, total) for got, done, total in seen if got == name]
        assert reports[0] == (0, len(data)) and reports[-1] == (len(data), len(data))


def test_download_skips_files_already_good(tmp_path, closed_port_mirror):
    for name, data in GOOD.items():
        write(tmp_path / name, data)
    assert fetch(tmp_path, [closed_port_mirror]) == tmp_path


@pytest.mark.parametrize("first", ["truncated", "wrong", "missing", "cut"])
def test_download_falls_back_to_next_mirror(tmp_path, server, first):
    server.requests.clear()
    fetch(tmp_path, [mirror(server, first), mirror(server, "good")])
    assert listing(tmp_path) == sorted(GOOD)
    assert all((tmp_path / name).read_bytes() == data for name, data in GOOD.items())
    assert sorted(server.requests) == sorted(f"/{kind}/{name}" for name in GOOD
                                             for kind in (first, "good"))


def test_download_all_mirrors_bad(tmp_path, server):
    kinds = ["truncated", "wrong", "missing", "cut"]
    with pytest.raises(MnistError) as excinfo:
        fetch(tmp_path, [mirror(server, kind) for kind in kinds])
    message = str(excinfo.value)
    assert_one_line_naming(excinfo, tmp_path / TRAIN_IMAGES)
    assert "download failed" in message and "--data-dir" in message
    assert "checksum mismatch" in message and "HTTP 404" in message and "truncated" in message
    assert listing(tmp_path) == []


def test_download_offline(tmp_path, closed_port_mirror):
    directory = tmp_path / "mnist"
    with pytest.raises(MnistError) as excinfo:
        fetch(directory, [closed_port_mirror, closed_port_mirror])
    message = str(excinfo.value)
    assert_one_line_naming(excinfo, directory / TRAIN_IMAGES)
    assert "download failed" in message and "offline" in message
    assert "--data-dir DIR" in message and "SCALARGRAD_DATA" in message
    assert listing(directory) == []


def test_default_table_offline_message(tmp_path, closed_port_mirror):
    with pytest.raises(MnistError, match="offline or the mirrors are unreachable.*--data-dir"):
        ensure_files(tmp_path, [closed_port_mirror], timeout=5)
    assert listing(tmp_path) == []


def test_corrupt_file_is_replaced_by_fresh_download(tmp_path, server):
    write(tmp_path / TRAIN_LABELS, b"corrupt")
    for name in (TRAIN_IMAGES, TEST_IMAGES, TEST_LABELS):
        write(tmp_path / name, GOOD[name])
    server.requests.clear()
    fetch(tmp_path, [mirror(server, "good")])
    assert (tmp_path / TRAIN_LABELS).read_bytes() == GOOD[TRAIN_LABELS]
    assert server.requests == [f"/good/{TRAIN_LABELS}"]
    assert listing(tmp_path) == sorted(GOOD)


def test_corrupt_file_kept_when_download_fails(tmp_path, server):
    write(tmp_path / TEST_LABELS, b"corrupt")
    for name in (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES):
        write(tmp_path / name, GOOD[name])
    with pytest.raises(MnistError, match="corrupt .md5 mismatch. and a fresh download failed") \
            as excinfo:
        fetch(tmp_path, [mirror(server, "wrong")])
    assert_one_line_naming(excinfo, tmp_path / TEST_LABELS)
    assert (tmp_path / TEST_LABELS).read_bytes() == b"corrupt"
    assert listing(tmp_path) == sorted(GOOD)


def test_raw_uncompressed_files_count_as_present(tmp_path, closed_port_mirror):
    for name, data in GOOD.items():
        write(tmp_path / name[:-3], gzip.decompress(data))
    assert fetch(tmp_path, [closed_port_mirror]) == tmp_path
    found = locate_files(tmp_path, GOOD_SUMS)
    assert found == {name: tmp_path / name[:-3] for name in GOOD}


def test_interrupted_download_leaves_nothing(tmp_path, server):
    def interrupt(name, done, total):
        if done:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fetch(tmp_path, [mirror(server, "good")], progress=interrupt)
    assert listing(tmp_path) == []


def test_unwritable_data_dir(tmp_path, server):
    blocker = write(tmp_path / "file", b"")
    with pytest.raises(MnistError, match="cannot write the download") as excinfo:
        fetch(blocker / "mnist", [mirror(server, "good")])
    assert "\n" not in str(excinfo.value)


def test_default_mirrors_are_distinct_urls():
    assert len(set(DEFAULT_MIRRORS)) >= 3
    assert all(url.startswith(("http://", "https://")) for url in DEFAULT_MIRRORS)


# ---------------------------------------------------------------- load_mnist without network

def test_load_mnist_from_raw_files(tmp_path):
    for name, data in GOOD.items():
        write(tmp_path / name[:-3], gzip.decompress(data))
    (x_train, y_train), (x_test, y_test) = load_mnist(tmp_path, size=14, download=False)
    assert x_train.shape == (4, 196) and x_test.shape == (2, 196)
    assert y_train.tolist() == [5, 0, 4, 1] and y_test.tolist() == [7, 2]
    assert np.array_equal(x_test, downsample(sample_images(2, seed=2), 14))


def test_load_mnist_without_download_reports_missing_file(tmp_path):
    with pytest.raises(MnistError, match="missing .*--data-dir") as excinfo:
        load_mnist(tmp_path, download=False)
    assert_one_line_naming(excinfo, tmp_path / TRAIN_IMAGES)


def test_load_mnist_without_download_reports_corrupt_file(tmp_path):
    write(tmp_path / TRAIN_IMAGES, b"corrupt")
    with pytest.raises(MnistError, match="corrupt: md5 is .*, expected " + CHECKSUMS[TRAIN_IMAGES]):
        load_mnist(tmp_path, download=False)


# ---------------------------------------------------------------- the real files

@pytest.fixture(scope="module")
def real_dir():
    if not all((SHARED_MNIST / name).is_file() for name in CHECKSUMS):
        pytest.skip(f"the MNIST files are not in {SHARED_MNIST}")
    return SHARED_MNIST


@pytest.fixture(scope="module")
def real_mnist(real_dir):
    return load_mnist(real_dir, size=7, download=False)


def test_real_files_match_the_checksum_table(real_dir, closed_port_mirror):
    assert {name: file_md5(real_dir / name) for name in CHECKSUMS} == CHECKSUMS
    assert locate_files(real_dir) == {name: real_dir / name for name in CHECKSUMS}
    assert ensure_files(real_dir, [closed_port_mirror]) == real_dir  # nothing to download


def test_real_mnist_shapes_and_labels(real_mnist):
    (x_train, y_train), (x_test, y_test) = real_mnist
    assert x_train.shape == (60000, 49) and x_test.shape == (10000, 49)
    assert x_train.dtype == x_test.dtype == np.float64
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265,
                                             5851, 5949]
    assert np.bincount(y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    for x in (x_train, x_test):
        assert x.min() == 0 and 0.9 < x.max() <= 1


def test_real_first_image_block_means_by_hand(real_dir, real_mnist):
    with gzip.open(real_dir / TRAIN_IMAGES, "rb") as stream:
        pixels = stream.read(16 + 784)[16:]
    expected = []
    for block_row in range(7):
        for block_col in range(7):
            total = 0
            for r in range(4 * block_row, 4 * block_row + 4):
                for c in range(4 * block_col, 4 * block_col + 4):
                    total += pixels[28 * r + c]
            expected.append(total / 16 / 255)
    assert real_mnist[0][0][0].tolist() == pytest.approx(expected, rel=0, abs=1e-12)


# ---------------------------------------------------------------- issue 17, item 14

def test_the_content_table_is_that_of_the_real_files(real_dir):
    """The MD5 and size of each canonical file's decompressed content, computed here with
    zlib (not the gzip module the library uses)."""
    for name, md5_of_file in CHECKSUMS.items():
        content = zlib.decompress((real_dir / name).read_bytes(), wbits=31)
        assert CONTENT_CHECKSUMS[md5_of_file] == (md5(content), len(content))


def recompressed_copy(real_dir, folder):
    """The real files, each decompressed and compressed again at another level (another
    file, byte for byte, holding the same data)."""
    for level, name in enumerate(CHECKSUMS):
        data = gzip.decompress((real_dir / name).read_bytes())
        (folder / name).write_bytes(gzip.compress(data, compresslevel=1 + level, mtime=0))
    return folder


def test_real_data_compressed_again_is_accepted(real_dir, tmp_path, closed_port_mirror):
    folder = recompressed_copy(real_dir, tmp_path)
    assert any(file_md5(folder / name) != md5_ for name, md5_ in CHECKSUMS.items())
    assert locate_files(folder) == {name: folder / name for name in CHECKSUMS}
    assert ensure_files(folder, [closed_port_mirror]) == folder  # nothing downloaded
    assert sorted(os.listdir(folder)) == sorted(CHECKSUMS)


def test_changed_data_compressed_again_is_corrupt(real_dir, tmp_path):
    data = bytearray(gzip.decompress((real_dir / TEST_LABELS).read_bytes()))
    data[-1] = (data[-1] + 1) % 10  # still a valid label file, but not MNIST's
    (tmp_path / TEST_LABELS).write_bytes(gzip.compress(bytes(data)))
    with pytest.raises(MnistError, match=f"{TEST_LABELS}: corrupt: md5 is"):
        locate_files(tmp_path, {TEST_LABELS: CHECKSUMS[TEST_LABELS]})


@pytest.mark.parametrize("which", ["gzip name", "raw name"])
def test_a_folder_where_a_file_should_be_is_named(tmp_path, closed_port_mirror, which):
    name = TEST_LABELS if which == "gzip name" else TEST_LABELS[:-3]
    (tmp_path / name).mkdir()
    only = {TEST_LABELS: CHECKSUMS[TEST_LABELS]}
    for call in (lambda: locate_files(tmp_path, only),
                 lambda: ensure_files(tmp_path, [closed_port_mirror], checksums=only, timeout=5)):
        with pytest.raises(MnistError) as excinfo:
            call()
        message = str(excinfo.value)
        assert f"{tmp_path / name} is a folder" in message and "download" not in message


def test_a_data_folder_that_is_a_file_is_named(tmp_path, closed_port_mirror):
    (tmp_path / "data").write_text("not a folder")
    with pytest.raises(MnistError, match="data is not a folder"):
        ensure_files(tmp_path / "data", [closed_port_mirror], timeout=5)


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
def test_data_larger_than_any_mnist_file_is_refused_in_bounded_memory(tmp_path, compress):
    """A sparse raw file, or a gzip bomb: 48 MB of zeros in 47 kB."""
    path = tmp_path / "train-labels-idx1-ubyte"
    size = 48_000_000
    if compress:
        path.write_bytes(gzip.compress(bytes(size), compresslevel=9))
    else:
        with open(path, "wb") as out:
            out.truncate(size)
    with pytest.raises(MnistError, match="larger than any MNIST file"):
        read_labels(path)

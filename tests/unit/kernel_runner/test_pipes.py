"""runner/pipes.py: a pipe read as UTF-8 text, chunk by chunk, with nothing lost or mangled."""

from __future__ import annotations

import io
import os
import threading

from hypothesis import given
from hypothesis import strategies as st

from runner.pipes import pump_text


def test_pump_text_keeps_characters_split_across_reads_whole() -> None:
    data = "héllo € 𝄞 wörld\n".encode()
    for chunk in range(1, 8):
        out: list[str] = []
        pump_text(io.BufferedReader(io.BytesIO(data)), out.append, chunk=chunk)
        assert "".join(out) == "héllo € 𝄞 wörld\n"
        assert all(out)  # no empty writes while a character is incomplete


@given(st.binary(max_size=200), st.integers(min_value=1, max_value=9))
def test_pump_text_decodes_any_bytes_as_one_decode_would(data: bytes, chunk: int) -> None:
    out: list[str] = []
    pump_text(io.BufferedReader(io.BytesIO(data)), out.append, chunk=chunk)
    assert "".join(out) == data.decode("utf-8", "replace")


def test_pump_text_reads_a_real_pipe_to_eof_and_closes_it() -> None:
    r, w = os.pipe()
    pipe = os.fdopen(r, "rb")
    payload = "ä" * 100_000 + "ÿ"

    def writer() -> None:
        with os.fdopen(w, "wb") as f:
            f.write(payload.encode()[:-1])  # ends in the middle of the last 2-byte character

    t = threading.Thread(target=writer)
    t.start()
    out: list[str] = []
    pump_text(pipe, out.append)
    t.join()
    assert "".join(out) == "ä" * 100_000 + "\ufffd"
    assert pipe.closed

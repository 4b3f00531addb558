"""Reading a child's output pipe as text, as it comes."""

import codecs


def pump_text(pipe, write, chunk=65536):
    """Read the binary `pipe` until EOF, calling `write(text)` with each chunk decoded as UTF-8.

    The decoder is incremental, so a character split across two reads comes out whole; invalid
    bytes become U+FFFD. `read1` returns what is there without waiting for a full chunk. Closes
    the pipe at the end.
    """
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    try:
        while True:
            data = pipe.read1(chunk)
            if not data:
                break
            text = decoder.decode(data)
            if text:
                write(text)
        tail = decoder.decode(b"", final=True)
        if tail:
            write(tail)
    finally:
        pipe.close()

"""The naive baseline server: RESP over plain asyncio streams, in about twenty lines.

What anyone would write first, with a Python handler as cq.aio's server has:
read one command (an array of bulk strings), call the handler, write its reply.
``python resp_streams_server.py`` prints its port, then serves until killed.
"""

import asyncio

VALUE = b"xxx"  # what every GET answers (redis-benchmark's -d default is 3 bytes)


def handle(args: list[bytes]) -> bytes:
    """The Python handler: GET answers VALUE, anything else an error."""
    if args and args[0].upper() == b"GET":
        return b"$%d\r\n%s\r\n" % (len(VALUE), VALUE)
    return b"-ERR unknown command\r\n"


async def serve_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while header := await reader.readline():  # b"*<count>\r\n"
            args = []
            for _ in range(int(header[1:])):
                size = int((await reader.readline())[1:])  # b"$<size>\r\n"
                args.append((await reader.readexactly(size + 2))[:-2])
            writer.write(handle(args))
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError, ValueError):
        pass  # the client left, or sent something that is not RESP
    finally:
        writer.close()


async def main() -> None:
    server = await asyncio.start_server(serve_connection, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)  # the parent reads the port
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())

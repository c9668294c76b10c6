"""Runs test Python scripts without paying torch's import each time (test/helpers/python.ts).

Started once per test process with a socket path: imports torch and numpy,
then serves one request at a time. A request is a client (this file run
with --client) that passes its stdin, stdout and stderr and its argv; the
server forks, and the child runs the script on those three files exactly
as `python3 -c SCRIPT` or `python3 FILE ARGS` would, from the client's
working directory, then exits with the script's status, which the client
exits with. Each script runs in a fresh fork, so nothing one script
imports or sets (its model module, torch's seed) is seen by the next.
"""
import os
import runpy
import socket
import struct
import sys
import traceback


def run_child(argv, cwd):
    os.chdir(cwd)
    try:
        if argv[0] == '-c':
            sys.argv = ['-c', *argv[2:]]
            sys.path.insert(0, '')
            exec(compile(argv[1], '<string>', 'exec'), {'__name__': '__main__', '__builtins__': __builtins__})
        else:
            sys.argv = list(argv)
            sys.path.insert(0, os.path.dirname(os.path.abspath(argv[0])))
            runpy.run_path(argv[0], run_name='__main__')
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if not isinstance(e.code, int) and e.code is not None:
            print(e.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def serve(path):
    import numpy  # noqa: F401  (the imports every test script makes, once)
    import torch  # noqa: F401
    parent = os.getppid()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path + '.tmp')
    server.listen(4)
    os.rename(path + '.tmp', path)  # the path appears only once it accepts
    server.settimeout(2)
    while True:
        try:
            conn, _ = server.accept()
        except socket.timeout:
            if os.getppid() != parent:
                return  # the test process is gone: so is the server
            continue
        conn.settimeout(None)
        with conn:
            msg, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
            size = struct.unpack('!I', msg[:4])[0]
            while len(msg) < 4 + size:
                msg += conn.recv(1 << 20)
            cwd, *argv = msg[4:4 + size].decode('utf-8').split('\0')
            pid = os.fork()
            if pid == 0:
                server.close()
                for target, fd in enumerate(fds):
                    os.dup2(fd, target)
                run_child(argv, cwd)
            for fd in fds:
                os.close(fd)
            _, status = os.waitpid(pid, 0)
            conn.sendall(struct.pack('!i', os.waitstatus_to_exitcode(status)))


def client(path, argv):
    body = '\0'.join([os.getcwd(), *argv]).encode('utf-8')
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(path)
    socket.send_fds(conn, [struct.pack('!I', len(body)) + body], [0, 1, 2])
    reply = b''
    while len(reply) < 4:
        part = conn.recv(4 - len(reply))
        if not part:
            sys.exit('torch-server.py: the server closed the connection without a status')
        reply += part
    code = struct.unpack('!i', reply)[0]
    sys.exit(code if code >= 0 else 128 - code)


if __name__ == '__main__':
    if sys.argv[1] == '--client':
        client(sys.argv[2], sys.argv[3:])
    else:
        try:
            serve(sys.argv[1])
        except BaseException:
            # The test process waits for the socket; this file tells it to stop waiting and run python3 itself.
            with open(sys.argv[1] + '.failed', 'w') as f:
                f.write(traceback.format_exc())
            raise

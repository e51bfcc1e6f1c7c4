"""Multi-process runs: start-up of JAX's multi-controller runtime and checks.

One process per host (or several on one machine) runs the same command with
`--coordinator_address=HOST:PORT --num_processes=N --process_id=I`;
`initialize` passes them to `jax.distributed.initialize`. With none of them
given, JAX's own cluster detection (SLURM, Open MPI, Cloud TPU) applies, and
outside a cluster the run is one process. On CPU, collectives across
processes use gloo.

Start-up fails with `DistributedError`, one paragraph naming the cause,
within `initialization_timeout` seconds, never by hanging: before JAX
starts, the processes meet on the coordinator's port (process 0 listens,
the others connect and say who they are), so an unreachable coordinator, a
missing process, a duplicate `--process_id` or differing `--num_processes`
are reported in Python (JAX itself would abort the process from C++).
`check_same` then compares the config of every process, and
`raise_if_any_failed` turns an error on one process into an error on all of
them, so that no process waits in a collective for one that has exited.
"""

from __future__ import annotations

import itertools
import json
import socket
import time
from typing import Any

import jax

_HELLO = "jaxaug-rendezvous"


class DistributedError(RuntimeError):
  """A multi-process run cannot start or a process failed; names the cause."""


def _split_address(address: str) -> tuple[str, int]:
  host, sep, port = address.rpartition(":")
  if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
    raise DistributedError(
        f"--coordinator_address={address!r} is not HOST:PORT (for example "
        f"127.0.0.1:12345 on one machine, or the address of the host of "
        f"process 0 and a free port)")
  return host.strip("[]"), int(port)


def _read_line(conn: socket.socket, deadline: float) -> str:
  data = b""
  while not data.endswith(b"\n"):
    conn.settimeout(max(deadline - time.monotonic(), 0.01))
    chunk = conn.recv(4096)
    if not chunk:
      raise ConnectionError("connection closed")
    data += chunk
  return data.decode().strip()


def _listen(port: int) -> socket.socket:
  family = socket.AF_INET6 if socket.has_dualstack_ipv6() else socket.AF_INET
  return socket.create_server(("", port), family=family,
                              dualstack_ipv6=family == socket.AF_INET6)


def _coordinate(address: str, num_processes: int, timeout: float) -> None:
  """Process 0: waits until every other process has said hello."""
  _, port = _split_address(address)
  deadline = time.monotonic() + timeout
  try:
    server = _listen(port)
  except OSError as e:
    raise DistributedError(
        f"process 0 cannot listen on port {port} of --coordinator_address="
        f"{address} ({e}); another program, an earlier run or a second "
        f"process started with --process_id=0 holds it. Choose another free "
        f"port for every process.") from e
  peers: dict[int, socket.socket] = {}
  rejected: list[socket.socket] = []
  problem = None
  try:
    while len(peers) < num_processes - 1 and problem is None:
      server.settimeout(max(deadline - time.monotonic(), 0.01))
      try:
        conn, _ = server.accept()
      except socket.timeout:
        missing = sorted(set(range(1, num_processes)) - set(peers))
        raise DistributedError(
            f"process 0 waited {timeout:g} s at {address} for the other "
            f"{num_processes - 1} process(es); process(es) "
            f"{', '.join(map(str, missing))} never connected. Start every "
            f"process with the same --coordinator_address and "
            f"--num_processes={num_processes} and a distinct --process_id "
            f"in 0..{num_processes - 1}, or raise --initialization_timeout."
        ) from None
      try:
        words = _read_line(conn, deadline).split()
      except (OSError, ConnectionError, UnicodeDecodeError):
        conn.close()  # Not one of ours (a port scan, a stale client).
        continue
      if (len(words) != 3 or words[0] != _HELLO or not words[1].isdigit()
          or not words[2].isdigit()):
        conn.close()
        continue
      their_count, their_id = int(words[1]), int(words[2])
      if their_count != num_processes:
        problem = (f"process {their_id} was started with --num_processes="
                   f"{their_count}, process 0 with --num_processes="
                   f"{num_processes}; every process needs the same value")
      elif their_id in peers or not 0 < their_id < num_processes:
        problem = (f"two processes were started with --process_id="
                   f"{their_id}" if their_id in peers else
                   f"a process was started with --process_id={their_id} "
                   f"while process 0 has the coordinator")
        problem += (f"; give each process a distinct id in "
                    f"0..{num_processes - 1}")
      if problem is None:
        peers[their_id] = conn
      else:
        rejected.append(conn)
    server.close()  # Before "OK": JAX's coordinator binds this port next.
    reply = "OK\n" if problem is None else f"ERR {problem}\n"
    for conn in list(peers.values()) + rejected:
      try:
        conn.sendall(reply.encode())
      except OSError:
        pass
  finally:
    server.close()
    for conn in list(peers.values()) + rejected:
      conn.close()
  if problem:
    raise DistributedError(problem)


def _join(address: str, num_processes: int, process_id: int,
          timeout: float) -> None:
  """Process > 0: says hello to process 0 and waits for its answer."""
  host, port = _split_address(address)
  deadline = time.monotonic() + timeout
  last = "no answer"
  while time.monotonic() < deadline:
    try:
      with socket.create_connection(
          (host, port), timeout=max(min(2.0, deadline - time.monotonic()),
                                    0.01)) as conn:
        conn.sendall(f"{_HELLO} {num_processes} {process_id}\n".encode())
        reply = _read_line(conn, deadline)
    except (OSError, ConnectionError) as e:
      last = f"{type(e).__name__}: {e}"
      time.sleep(0.2)
      continue
    if reply == "OK":
      return
    if reply.startswith("ERR "):
      raise DistributedError(reply[4:])
    last = f"unexpected answer {reply[:80]!r}"
  raise DistributedError(
      f"process {process_id} could not reach the coordinator at {address} "
      f"within {timeout:g} s ({last}). Is process 0 running with "
      f"--coordinator_address={address} and --num_processes={num_processes}"
      f", and is that host and port reachable from here? (Raise "
      f"--initialization_timeout if process 0 starts later.)")


def initialize(coordinator_address: str | None = None,
               num_processes: int | None = None,
               process_id: int | None = None, *,
               initialization_timeout: int = 60) -> int:
  """Starts JAX's multi-controller runtime if this is a multi-process run.

  Must run before anything else uses JAX (no `jax.devices()` before it).

  Args:
    coordinator_address: HOST:PORT of process 0 (it listens there).
    num_processes: number of processes N.
    process_id: this process's index in 0..N-1.
    initialization_timeout: seconds to wait for the other processes.

  Returns:
    The number of processes (1 for a single-process run).

  Raises:
    DistributedError: naming the cause (bad flags, unreachable coordinator,
      missing or duplicate processes, a port in use), within about
      `initialization_timeout` seconds.
  """
  given = [coordinator_address, num_processes, process_id]
  if all(v is None for v in given):
    return _auto_detect(initialization_timeout)
  if any(v is None for v in given):
    names = ("--coordinator_address", "--num_processes", "--process_id")
    missing = [n for n, v in zip(names, given) if v is None]
    raise DistributedError(
        f"a multi-process run needs --coordinator_address, --num_processes "
        f"and --process_id together; {', '.join(missing)} missing (or give "
        f"none of them to let JAX detect a SLURM / Open MPI / Cloud TPU "
        f"cluster)")
  if num_processes < 1 or not 0 <= process_id < num_processes:
    raise DistributedError(
        f"--process_id={process_id} must be in 0..{num_processes - 1} "
        f"(--num_processes={num_processes})")
  _split_address(coordinator_address)
  if num_processes == 1:
    return 1
  if process_id == 0:
    _coordinate(coordinator_address, num_processes, initialization_timeout)
  else:
    _join(coordinator_address, num_processes, process_id,
          initialization_timeout)
  jax.config.update("jax_cpu_collectives_implementation", "gloo")
  try:
    jax.distributed.initialize(
        coordinator_address=coordinator_address, num_processes=num_processes,
        process_id=process_id, initialization_timeout=initialization_timeout)
  except RuntimeError as e:  # Called twice, or after JAX computed something.
    raise DistributedError(f"cannot start the multi-process run: {e}") from e
  return num_processes


def _auto_detect(initialization_timeout: int) -> int:
  import warnings  # pylint: disable=g-import-not-at-top
  if jax.distributed.is_initialized():  # Started by the caller.
    return jax.process_count()
  try:
    with warnings.catch_warnings():
      # A Kubernetes pod without the `kubernetes` package warns; that is not
      # a cluster JAX can use, and this run is then a single process.
      warnings.simplefilter("ignore")
      jax.distributed.initialize(
          initialization_timeout=initialization_timeout)
  except ValueError as e:
    if "defined" in str(e):  # JAX found no cluster: one process.
      return 1
    raise DistributedError(f"JAX's cluster detection failed: {e}") from e
  except RuntimeError:
    # JAX has computed already (`train.main` called by a program that used
    # it): too late for a cluster start-up; the run is what JAX has.
    return jax.process_count()
  # Before the first use of a backend, which the line below is.
  jax.config.update("jax_cpu_collectives_implementation", "gloo")
  return jax.process_count()


def _client():
  import orbax.checkpoint as ocp  # pylint: disable=g-import-not-at-top
  return ocp.multihost.get_jax_distributed_client()


# Keys of the coordination service's key-value store must be unique; every
# process makes the same sequence of collective calls, so a count numbers
# them alike everywhere.
_sequence = itertools.count()


def allgather_text(text: str, *, timeout_s: float = 300.0,
                   what: str = "a collective step") -> list[str]:
  """Every process's `text`, in process order (a collective: all must call).

  Uses the key-value store of JAX's coordination service: no compilation,
  no device collective, and a timeout instead of a hang.

  Args:
    text: this process's contribution.
    timeout_s: how long to wait for the others.
    what: what the processes are doing, for the error message.

  Raises:
    DistributedError: a process did not contribute within `timeout_s`.
  """
  if jax.process_count() == 1:
    return [text]
  client = _client()
  key = f"jaxaug/{next(_sequence)}"
  client.key_value_set(f"{key}/{jax.process_index()}", text)
  out = []
  for i in range(jax.process_count()):
    try:
      out.append(client.blocking_key_value_get(f"{key}/{i}",
                                               int(timeout_s * 1000)))
    except Exception as e:  # pylint: disable=broad-except
      raise DistributedError(
          f"process {i} did not reach {what} within {timeout_s:g} s "
          f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
          f"); it has probably failed: see its log") from e
  return out


def check_same(what: str, values: dict[str, Any]) -> None:
  """Raises on every process unless all processes pass equal `values`.

  Args:
    what: what the values are, for the message ("config").
    values: flat `{name: value}`, JSON-serialisable (str() otherwise).

  Raises:
    DistributedError: listing each differing name with every process's
      value.
  """
  if jax.process_count() == 1:
    return
  mine = json.dumps(values, sort_keys=True, default=str)
  every = [json.loads(t) for t in allgather_text(
      mine, timeout_s=120, what=f"the comparison of the {what}")]
  names = sorted(set().union(*every))
  differing = [n for n in names if any(v.get(n) != every[0].get(n)
                                       for v in every)]
  if differing:
    lines = "; ".join(
        f"{n}: " + ", ".join(f"{v.get(n)!r} (process {i})"
                             for i, v in enumerate(every))
        for n in differing)
    raise DistributedError(
        f"the processes of this run were started with different {what}: "
        f"{lines}. Start every process with the same --config, overrides "
        f"and --workdir.")


def raise_if_any_failed(error: BaseException | None, during: str, *,
                        timeout_s: float = 600.0) -> None:
  """Re-raises `error`; raises on every process if any other one failed.

  A collective: every process calls it once per phase, with the exception
  the phase raised there (or None).

  Raises:
    `error` itself on the process that failed; `DistributedError` naming
    the failed process(es) and their errors on the others.
  """
  if jax.process_count() == 1:
    if error is not None:
      raise error
    return
  text = "" if error is None else f"{type(error).__name__}: {error}"
  every = allgather_text(text, timeout_s=timeout_s,
                         what=f"the end of {during}")
  if error is not None:
    raise error
  failed = [(i, t) for i, t in enumerate(every) if t]
  if failed:
    causes = "; ".join(f"process {i}: {t}" for i, t in failed)
    raise DistributedError(f"another process failed while {during}, so "
                           f"this one stops too ({causes})")


def barrier(name: str, *, timeout_s: float = 300.0) -> None:
  """Waits until every process has reached `barrier(name)`.

  Raises:
    DistributedError: not every process arrived within `timeout_s`.
  """
  if jax.process_count() == 1:
    return
  try:
    _client().wait_at_barrier(f"jaxaug/{next(_sequence)}/{name}",
                              int(timeout_s * 1000))
  except Exception as e:  # pylint: disable=broad-except
    raise DistributedError(
        f"not every process reached {name!r} within {timeout_s:g} s "
        f"({type(e).__name__}); one has probably failed: see its log") from e

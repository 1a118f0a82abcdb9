"""Run Central: start it, serve HTTPS with uvicorn, stop cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import signal
from collections.abc import Iterator

import uvicorn

from stockade.central.app import create_app
from stockade.central.config import CentralConfig
from stockade.central.runtime import Central

logger = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    """uvicorn re-raises SIGTERM/SIGINT once it has stopped serving, which would kill the
    process before Central closes its pool and stops the embedded PostgreSQL. Here a signal
    only starts the graceful shutdown; ``serve()`` then returns and cleanup runs."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.handle_exit, sig, None)
        try:
            yield
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)


async def serve(cfg: CentralConfig) -> None:
    central = await Central.start(cfg)
    tls_dir = None
    try:
        app = create_app(central)
        kwargs: dict[str, object] = {}
        scheme = "http"
        if cfg.tls:
            cert, key = central.server_certificate()
            tls_dir = cert.parent
            kwargs = {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}
            scheme = "https"
        config = uvicorn.Config(
            app,
            host=cfg.bind,
            port=cfg.port,
            log_config=None,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=20,
            server_header=False,
            **kwargs,  # type: ignore[arg-type]
        )
        server = _Server(config)
        host = f"[{cfg.bind}]" if ":" in cfg.bind else cfg.bind
        print(
            f"Stockade Central {central.version} listening on {scheme}://{host}:{cfg.port}",
            flush=True,
        )
        print(f"  API docs:  {scheme}://{host}:{cfg.port}/docs", flush=True)
        print(f"  CA:        {cfg.data_dir / 'ca.pem'}", flush=True)
        pw_file = cfg.data_dir / "admin-password"
        if central.secrets.admin_password_written_to is not None:
            print(f"  admin password (generated now, shown nowhere else): {pw_file}", flush=True)
        elif pw_file.exists():
            print(f"  admin password: {pw_file}", flush=True)
        await server.serve()
        if not server.started:
            from stockade.central.errors import StartupError  # noqa: PLC0415

            raise StartupError(f"cannot listen on {cfg.bind}:{cfg.port} (address in use?)")
    finally:
        await central.stop()
        if tls_dir is not None:
            shutil.rmtree(tls_dir, ignore_errors=True)
        logger.info("Central stopped")


def run(cfg: CentralConfig) -> None:
    asyncio.run(serve(cfg))

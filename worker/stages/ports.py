"""ServicePorts: the image's services and preopen ports, each given a host port from the pool."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel

from contract.errors import KernelCreationFailed
from contract.kernels import ServicePort
from worker.inference.service import served_models
from worker.pipeline.context import KernelContext
from worker.pipeline.stage import Stage
from worker.resources.allocator import PortPool
from worker.stages.image import ImagePullStage

SERVICE_PORTS_LABEL = "ai.backend.service-ports"
RESERVED_PORTS = frozenset({2000, 2001})


def parse_service_ports(label: str) -> list[tuple[str, str, int]]:
    """`"jupyter:http:8888,ssh:tcp:2200"` -> [(name, protocol, container port), ...]."""
    result = []
    for item in filter(None, (p.strip() for p in label.split(","))):
        try:
            name, protocol, port = item.split(":")
            result.append((name, protocol, int(port)))
        except ValueError:
            raise KernelCreationFailed(f"bad {SERVICE_PORTS_LABEL} entry {item!r} (want name:protocol:port)") from None
    return result


@dataclass(frozen=True)
class ServicePortsSpec:
    kernel_id: str
    image_label: str
    preopen_ports: list[int]
    is_main: bool
    inference_ports: list[tuple[str, int]] = field(default_factory=list)  # (model name, container port)


class ServicePorts(BaseModel):
    kernel_id: str = ""
    ports: list[ServicePort] = []


class ServicePortsStage(Stage[ServicePortsSpec, ServicePorts]):
    name = "service_ports"
    resource_type = ServicePorts
    requires = ("image",)
    provides = ("service_ports",)

    def __init__(self, pool: PortPool) -> None:
        self._pool = pool

    def spec(self, ctx: KernelContext) -> ServicePortsSpec:
        c = ctx.kernel_config
        models = served_models(c, ctx.internal_data)
        return ServicePortsSpec(ctx.kernel_id, ctx.output(ImagePullStage).labels.get(SERVICE_PORTS_LABEL, ""),
                                c.preopen_ports, c.cluster_role in ("main", "master"),
                                [(m.name, m.service.port) for m in models if m.service is not None])

    def setup(self, spec: ServicePortsSpec) -> ServicePorts:
        wanted = parse_service_ports(spec.image_label) if spec.is_main else []
        taken = {p for _, _, p in wanted}
        extra = [(f"preopen-{port}", "preopen", port) for port in spec.preopen_ports] if spec.is_main else []
        extra += [(name, "http", port) for name, port in spec.inference_ports]
        for name, proto, port in extra:
            if port in RESERVED_PORTS or port in taken:
                raise KernelCreationFailed(f"port {port} of {name} is reserved or already used by a service")
            wanted.append((name, proto, port))
            taken.add(port)
        inference = {name for name, _ in spec.inference_ports}
        host_ports = self._pool.take(spec.kernel_id, len(wanted))
        return ServicePorts(kernel_id=spec.kernel_id, ports=[
            ServicePort(name=n, protocol=proto, container_ports=[cp], host_ports=[hp], is_inference=n in inference)
            for (n, proto, cp), hp in zip(wanted, host_ports, strict=True)
        ])

    def teardown(self, resource: ServicePorts) -> None:
        if resource.kernel_id:
            self._pool.release(resource.kernel_id)

    def leftover(self, ctx: KernelContext) -> ServicePorts:
        return ServicePorts(kernel_id=ctx.kernel_id)  # host ports are keyed by kernel id

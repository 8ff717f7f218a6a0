"""Write the slim image: one deterministic layer, the carried-over config, and its outputs.

``build_image(engine, fs, kept, tag, workdir, archive=None, oci=None, changes=None) ->
SlimImage`` does it all (``changes``: the ``--new-*`` options read by ``config_changes``); the
pieces are ``write_layer``, ``build_config``, ``rebuild``, ``load_image``,
``write_docker_archive``, ``write_oci_layout`` and ``default_tag``.
"""

from slimmer.rebuild.archive import SlimImage, write_docker_archive, write_oci_layout
from slimmer.rebuild.changes import ConfigOptions, config_changes
from slimmer.rebuild.config import ConfigChanges, build_config
from slimmer.rebuild.layer import LayerInfo, write_layer
from slimmer.rebuild.output import build_image, default_tag, load_image, rebuild

__all__ = [
    "ConfigChanges",
    "ConfigOptions",
    "LayerInfo",
    "SlimImage",
    "build_config",
    "build_image",
    "config_changes",
    "default_tag",
    "load_image",
    "rebuild",
    "write_docker_archive",
    "write_layer",
    "write_oci_layout",
]

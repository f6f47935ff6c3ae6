"""Previews and test sends: a message exactly as one customer would receive it, built by the dispatcher's own
code and the adapters' payload builders, and sent to a staff allow-list on request."""

from ecrm_dsl.preview.build import ChannelPreview, Preview, build_preview
from ecrm_dsl.preview.target import PreviewError, Target, resolve

__all__ = ["ChannelPreview", "Preview", "PreviewError", "Target", "build_preview", "resolve"]

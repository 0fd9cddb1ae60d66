"""The HTML fallback shared by iog's widgets, for frontends that cannot render widgets."""

from __future__ import annotations

from typing import Any


class HtmlFallbackMixin:
    """Add ``text/html`` (from ``_repr_html_``) to an ipywidget's MIME bundle.

    Frontends that render widgets (JupyterLab, Notebook 7, VS Code) prefer the widget view; the
    others, and nbconvert when no widget state was saved, show the HTML. Put it before the
    ipywidgets base class.
    """

    def _repr_html_(self) -> str:
        raise NotImplementedError

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        """The ipywidgets bundle (widget view and ``text/plain``) plus the ``text/html``."""
        bundle = super()._repr_mimebundle_(**kwargs)  # type: ignore[misc]
        if bundle is None:
            return None
        include, exclude = kwargs.get("include"), kwargs.get("exclude")
        if (not include or "text/html" in include) and not (exclude and "text/html" in exclude):
            bundle["text/html"] = self._repr_html_()
        return bundle

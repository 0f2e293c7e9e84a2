"""The feedback pages' exporter: nbconvert's HTMLExporter without its BeautifulSoup pass.

HTMLExporter parses every page it has rendered with BeautifulSoup to add alt text to images and
tabindex to JupyterLab's cell classes, then writes it out again: about half of a feedback page's
cost (a page holds thousands of tags of highlighted code). The feedback page is nbgrader's
classic template, whose cells have none of those classes, so only the alt text is kept, added
to the rendered text directly. Set by grader.autograde.feedback_page_config for
GenerateFeedback only.
"""

import re

from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

NO_ALT = "No description has been provided for this image"  # HTMLExporter's own words
_IMG_WITHOUT_ALT = re.compile(r"<img(?![^>]*\salt=)")


class FeedbackExporter(HTMLExporter):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # the instructor's cells are the same on every page of a batch: highlighted once
        self._highlighted = {}

    def from_notebook_node(self, nb, resources=None, **kw):
        # HTMLExporter.from_notebook_node's filters, as it registers them (nbconvert 7)
        langinfo = nb.metadata.get("language_info", {})
        lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
        highlight = self.filters.get("highlight_code",
                                     Highlight2HTML(pygments_lexer=lexer, parent=self))
        self.register_filter("highlight_code", _Remembered(highlight, self._highlighted))
        resources = self._init_resources(resources)
        self.register_filter("filter_data_type", WidgetsDataTypeFilter(
            notebook_metadata=self._nb_metadata, parent=self, resources=resources))
        html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        return _IMG_WITHOUT_ALT.sub(f'<img alt="{NO_ALT}"', html), resources


class _Remembered:
    """A highlight_code filter that remembers what it made for a source and language (of the
    cell's metadata, Highlight2HTML reads only "magics_language")."""

    def __init__(self, highlight, made):
        self.highlight, self.made = highlight, made

    def __call__(self, source, language=None, metadata=None):
        key = (source, language, (metadata or {}).get("magics_language"))
        if key not in self.made:
            self.made[key] = self.highlight(source, language, metadata)
        return self.made[key]

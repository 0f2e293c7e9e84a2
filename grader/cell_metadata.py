"""nbgrader's cell-metadata check for autograde, with its JSON schema checked once per process.

nbgrader's MetadataValidator validates each cell's nbgrader metadata with jsonschema.validate,
which first checks the schema itself against JSON Schema's meta-schema, at every cell: most of
the ~20 ms a notebook that autograde's CheckCellMetadata costs. This is the same check (nbgrader's
validator, its schema, its errors), with the schema checked once and its validator kept, as
jsonschema's documentation advises for validating many instances with one schema.
"""

import traceback

import jsonschema
from nbgrader.nbgraderformat import ValidationError
from nbgrader.nbgraderformat.common import BaseMetadataValidator
from nbgrader.nbgraderformat.v3 import MetadataValidatorV3
from nbgrader.preprocessors import CheckCellMetadata as NbgraderCheckCellMetadata

_VALIDATORS = {}  # schema version -> jsonschema validator of nbgrader's schema


class _SchemaCheckedOnce(BaseMetadataValidator):
    """The schema step of nbgrader's validate_cell, with the validator made once."""

    def validate_cell(self, cell):
        meta = cell.metadata.get("nbgrader")
        if meta is None or meta.get("schema_version", 0) != self.schema_version:
            return super().validate_cell(cell)  # nbgrader's own answer (e.g. an old schema)
        if self.schema_version not in _VALIDATORS:
            kind = jsonschema.validators.validator_for(self.schema)
            kind.check_schema(self.schema)
            _VALIDATORS[self.schema_version] = kind(self.schema)
        # what jsonschema.validate raises: the best of the errors
        error = jsonschema.exceptions.best_match(
            _VALIDATORS[self.schema_version].iter_errors(meta))
        if error is not None:
            raise error
        return None


class MetadataValidator(MetadataValidatorV3, _SchemaCheckedOnce):
    """nbgrader's MetadataValidatorV3; its first step (BaseMetadataValidator.validate_cell)
    resolves to _SchemaCheckedOnce."""


class CheckCellMetadata(NbgraderCheckCellMetadata):
    """nbgrader's CheckCellMetadata with the validator above."""

    def preprocess(self, nb, resources):
        try:
            MetadataValidator().validate_nb(nb)
        except ValidationError:
            self.log.error(traceback.format_exc())
            msg = "Notebook failed to validate; the nbgrader metadata may be corrupted."
            self.log.error(msg)
            raise ValidationError(msg) from None
        return nb, resources

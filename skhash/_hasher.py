"""The contract every hasher shares: uint8 codes of ``n_bits`` columns from sparse input."""

from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin


class HasherMixin(ClassNamePrefixFeaturesOutMixin, TransformerMixin):
    """Mixin for transformers whose output is ``n_bits`` binary code columns.

    Gives ``get_feature_names_out`` (``<classname>0``, ``<classname>1``, ...) and with it
    ``set_output(transform="pandas")``, and the tags: sparse input accepted, output dtype
    uint8 whatever the input dtype.
    """

    @property
    def _n_features_out(self):
        return self.n_bits

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = []
        return tags

"""The feature registries: plain dicts from the config's `type` to the class.

Adding a type is adding one module and one line in each dict that applies; a user's package adds
its own through toolkit.config.plugins.Registry (`registry.input_feature(Cls)`), which also holds
it to the contract of toolkit.testing.check_feature at `tk train`.
"""

from toolkit.features.binary import BinaryInput, BinaryOutput
from toolkit.features.category import CategoryInput, CategoryOutput
from toolkit.features.date import DateInput
from toolkit.features.number import NumberInput, NumberOutput
from toolkit.features.set import SetInput, SetOutput
from toolkit.features.text import TextInput
from toolkit.features.timeseries import TimeseriesInput
from toolkit.features.vector import VectorInput

INPUT_FEATURES = {
    "number": NumberInput,
    "binary": BinaryInput,
    "category": CategoryInput,
    "text": TextInput,
    "set": SetInput,
    "date": DateInput,
    "vector": VectorInput,
    "timeseries": TimeseriesInput,
}

OUTPUT_FEATURES = {
    "number": NumberOutput,
    "binary": BinaryOutput,
    "category": CategoryOutput,
    "set": SetOutput,
}

"""Files with classes keras-rs cannot know: a Functional model holding a user-registered layer
(`register_keras_serializable(package="demo")`, saved as `demo>Scale`), in `.keras` and legacy
`.h5`, and a subclassed model (class `Tower`, no Functional config).

    /work/scratch/venv/bin/python tools/functional/make_error_fixtures.py crates/keras/tests/fixtures/functional_errors
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras

out = sys.argv[1]
os.makedirs(out, exist_ok=True)


@keras.saving.register_keras_serializable(package="demo")
class Scale(keras.layers.Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


@keras.saving.register_keras_serializable(package="demo")
class Tower(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.d = keras.layers.Dense(2)

    def call(self, x):
        return self.d(x)


x = keras.Input((3,), name="x")
y = keras.layers.Dense(2, name="d")(Scale(name="scale")(x))
m = keras.Model(x, y, name="with_custom")
m.save(os.path.join(out, "custom_layer.keras"))
m.save(os.path.join(out, "custom_layer.h5"))
t = Tower(name="tower")
t(keras.ops.zeros((1, 3)))
t.save(os.path.join(out, "subclassed.keras"))
print("ok")

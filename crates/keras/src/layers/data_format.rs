//! Keras's `data_format` argument of the spatial layers: which axis holds the channels.
//!
//! The layers compute channels-last; a channels-first layer moves the channel axis last
//! before its computation and back after it ([`DataFormat::to_last`], [`DataFormat::from_last`]),
//! which keeps one implementation of each layer and makes gradients flow through the
//! (differentiable) transposes.

use serde_json::Value;

use crate::config::{data_format_error, image_data_format};
use crate::layers::layer::Shape;
use crate::layers::reshaping::args::ndim_error;
use crate::{keras_bail, Result, Tensor};

/// `"channels_last"` (`(batch, ..., channels)`) or `"channels_first"` (`(batch, channels, ...)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataFormat {
    /// `(batch, spatial..., channels)`.
    ChannelsLast,
    /// `(batch, channels, spatial...)`.
    ChannelsFirst,
}

impl Default for DataFormat {
    /// Keras's `standardize_data_format(None)`: the global [`image_data_format`].
    fn default() -> Self {
        if image_data_format() == "channels_first" {
            DataFormat::ChannelsFirst
        } else {
            DataFormat::ChannelsLast
        }
    }
}

impl DataFormat {
    /// Keras's `standardize_data_format`: the name in any case, or Keras's error.
    pub fn parse(s: &str) -> Result<Self> {
        match s.to_lowercase().as_str() {
            "channels_last" => Ok(DataFormat::ChannelsLast),
            "channels_first" => Ok(DataFormat::ChannelsFirst),
            _ => Err(data_format_error(s)),
        }
    }

    /// The `data_format` of a layer config: absent or null means the global default.
    pub fn from_config(cfg: &Value) -> Result<Self> {
        match cfg.get("data_format") {
            None | Some(Value::Null) => Ok(DataFormat::default()),
            Some(Value::String(s)) => DataFormat::parse(s),
            Some(other) => keras_bail!(
                Value,
                "The `data_format` argument must be a string. Received: data_format={other}"
            ),
        }
    }

    /// The Keras name, as configs write it.
    pub fn as_str(self) -> &'static str {
        match self {
            DataFormat::ChannelsLast => "channels_last",
            DataFormat::ChannelsFirst => "channels_first",
        }
    }

    /// The axis of the channels in a tensor of `rank` axes.
    pub fn channel_axis(self, rank: usize) -> usize {
        match self {
            DataFormat::ChannelsLast => rank.saturating_sub(1),
            DataFormat::ChannelsFirst => 1.min(rank.saturating_sub(1)),
        }
    }

    /// The permutation moving the channels (axis 1) last.
    fn perm_to_last(rank: usize) -> Vec<usize> {
        std::iter::once(0).chain(2..rank).chain(std::iter::once(1)).collect()
    }

    /// The permutation moving the last axis to position 1.
    fn perm_from_last(rank: usize) -> Vec<usize> {
        std::iter::once(0).chain(std::iter::once(rank - 1)).chain(1..rank - 1).collect()
    }

    /// The input as channels-last (a transpose for channels-first inputs of rank >= 3).
    pub fn to_last(self, x: &Tensor) -> Result<Tensor> {
        match self {
            DataFormat::ChannelsFirst if x.rank() >= 3 => {
                Ok(keras_engine::ops::transpose(x, &Self::perm_to_last(x.rank()))?)
            }
            _ => Ok(x.clone()),
        }
    }

    /// A channels-last result in this format (the inverse of [`DataFormat::to_last`]).
    pub fn from_last(self, y: &Tensor) -> Result<Tensor> {
        match self {
            DataFormat::ChannelsFirst if y.rank() >= 3 => {
                Ok(keras_engine::ops::transpose(y, &Self::perm_from_last(y.rank()))?)
            }
            _ => Ok(y.clone()),
        }
    }

    /// [`DataFormat::to_last`] for a shape.
    pub fn shape_to_last(self, s: &[Option<usize>]) -> Shape {
        match self {
            DataFormat::ChannelsFirst if s.len() >= 3 => {
                Self::perm_to_last(s.len()).iter().map(|&p| s[p]).collect()
            }
            _ => s.to_vec(),
        }
    }

    /// [`DataFormat::from_last`] for a shape.
    pub fn shape_from_last(self, s: &[Option<usize>]) -> Shape {
        match self {
            DataFormat::ChannelsFirst if s.len() >= 3 => {
                Self::perm_from_last(s.len()).iter().map(|&p| s[p]).collect()
            }
            _ => s.to_vec(),
        }
    }
}

impl DataFormat {
    /// A layer's `compute_output_shape` from its channels-last one: Keras's rank check on
    /// the shape as given, then `f` on the channels-last shape, moved back.
    pub(crate) fn map_shape(
        self,
        layer: &str,
        ndim: usize,
        s: &[Option<usize>],
        f: impl FnOnce(&[Option<usize>]) -> Result<Shape>,
    ) -> Result<Shape> {
        if s.len() != ndim {
            return Err(ndim_error(layer, ndim, s));
        }
        Ok(self.shape_from_last(&f(&self.shape_to_last(s))?))
    }

    /// A layer's `call` from its channels-last one.
    pub(crate) fn map_call(self, x: &Tensor, f: impl FnOnce(&Tensor) -> Result<Tensor>) -> Result<Tensor> {
        self.from_last(&f(&self.to_last(x)?)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_errors() {
        let x = Tensor::new((0..24).map(|v| v as f32).collect(), [2, 3, 2, 2]).unwrap();
        let f = DataFormat::ChannelsFirst;
        let last = f.to_last(&x).unwrap();
        assert_eq!(last.shape(), &[2, 2, 2, 3]);
        // element (n=0, c=1, h=0, w=1) = 5 moves to (0, 0, 1, 1)
        assert_eq!(last.as_f32().unwrap()[3 + 1], 5.0);
        assert_eq!(f.from_last(&last).unwrap().as_f32().unwrap(), x.as_f32().unwrap());
        let s = [None, Some(3), Some(4), Some(5)];
        assert_eq!(f.shape_to_last(&s), vec![None, Some(4), Some(5), Some(3)]);
        assert_eq!(f.shape_from_last(&f.shape_to_last(&s)), s.to_vec());
        assert_eq!(DataFormat::ChannelsLast.shape_to_last(&s), s.to_vec());
        assert_eq!(DataFormat::parse("Channels_First").unwrap(), f);
        let e = DataFormat::parse("NCHW").unwrap_err().to_string();
        assert!(e.contains("Received: data_format=nchw"), "{e}");
        assert!(DataFormat::from_config(&serde_json::json!({"data_format": 3})).is_err());
        assert_eq!(f.channel_axis(4), 1);
        assert_eq!(DataFormat::ChannelsLast.channel_axis(4), 3);
    }
}

"""The base of every contract model."""

from pydantic import BaseModel, ConfigDict


class Contract(BaseModel):
    """A message or body that crosses a service boundary.

    Unknown fields are refused so that a typo in a producer is a clear error, not silently
    dropped data; models are frozen because a message, once made, is a fact.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

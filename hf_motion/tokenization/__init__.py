"""Motion as text: the uniform quantizer (:mod:`.quantizer`), delta coding (:mod:`.predictive_coding`),
the M5 tokenizer and its finer code (:mod:`.tokenizer`), and merging motion tokens into a text
vocabulary (:mod:`.text_motion`)."""

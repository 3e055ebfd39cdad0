"""Layer tables of the published networks, and the generator of samples/models.

``layers`` holds the records (``Conv2d``, ``Linear``, ``Model``); one module per
network writes its table in the form its source publishes it (``resnet``,
``googlenet``, ``mobilenet``, ``fasterrcnn``, ``yolo``, ``ncf``, ``dlrm``,
``bert``, ``t5``); ``models`` is the registry of the paper's nine workloads and
their batches; ``render`` writes a table as ``grad``-dialect functions; and
``python -m igoc.zoo.generate`` rewrites (or ``--check``s) samples/models.
Imports nothing of igoc outside the zoo.
"""

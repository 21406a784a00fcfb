class Widget:
    def __init__(self, v):
        self.v = ("b", v)

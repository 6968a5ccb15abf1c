"""The chapter's exercises 1 to 9 and the notebooks' teaching helpers (shapes, several steps
ahead, gradients, cells, video, QuickDraw, diagrams, tables and code shown in a notebook).
Exercise 10, the Bach chorales, has its own folder, ``ridership.chorales``."""

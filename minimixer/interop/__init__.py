"""Bridges to other frameworks.

`minimixer.interop.torch` moves both Mixers to PyTorch and back, weights included.
It needs PyTorch, so it is imported only on request: `import minimixer` never imports torch.
"""

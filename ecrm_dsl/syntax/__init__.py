"""Front ends: read a source file in either syntax and build the shared AST with positions."""

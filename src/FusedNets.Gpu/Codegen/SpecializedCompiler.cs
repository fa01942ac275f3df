using ILGPU.Backends;
using ILGPU.Backends.EntryPoints;
using ILGPU.IR;
using ILGPU.IR.Values;
using IlgpuBackend = ILGPU.Backends.Backend;

namespace FusedNets.Gpu;

/// <summary>
/// Compiles a <see cref="KernelInstance"/> with an ILGPU backend and no device, as an accelerator compiles it at its
/// first launch: its specialized parameter replaced by the network's value, so that the code is the code a GPU would
/// run (every size a constant). The PTX and OpenCL backends need only a context, which is how CI checks that every
/// kernel a network launches would load on a GPU.
/// </summary>
/// <remarks>
/// ILGPU specializes inside its kernel launcher, out of reach without an accelerator; this does the same with ILGPU's
/// public IR: a wrapper entry point that calls the kernel with the value as a constant, inlined and optimized.
/// </remarks>
internal static class SpecializedCompiler
{
    public static CompiledKernel Compile(IlgpuBackend backend, KernelInstance kernel)
    {
        EntryPointDescription entry = kernel.IsImplicitlyGrouped
            ? EntryPointDescription.FromImplicitlyGroupedKernel(kernel.Method)
            : EntryPointDescription.FromExplicitlyGroupedKernel(kernel.Method);
        if (kernel.Specialization is null)
        {
            return backend.Compile(entry, default);
        }

        int specialized = Array.FindIndex(kernel.Method.GetParameters(), parameter => parameter.ParameterType == kernel.Specialization.GetType());
        Method method = backend.PreCompileKernelMethod(entry);
        using IRContext context = method.ExtractToContext(out Method kernelMethod);
        kernelMethod.AddFlags(MethodFlags.Inline);
        Method wrapper = context.Declare(new MethodDeclaration(MethodHandle.Create("Specialized" + kernelMethod.Name), context.VoidType), out _);
        using (Method.Builder builder = wrapper.CreateBuilder())
        {
            Location location = wrapper.Location;
            BasicBlock.Builder block = builder.EntryBlockBuilder;
            var call = block.CreateCall(location, kernelMethod);

            // The wrapper keeps every parameter, so launches bind arguments as they would to the kernel itself.
            foreach (Parameter parameter in kernelMethod.Parameters)
            {
                Parameter forwarded = builder.AddParameter(parameter.ParameterType, parameter.Name);
                call.Add(parameter.Index == specialized
                    ? block.CreateObjectValue(location, kernel.Specialization)
                    : forwarded);
            }

            call.Seal();
            block.CreateReturn(location);
            builder.Complete();
        }

        context.Optimize();
        return backend.Compile(wrapper, entry, default);
    }
}
